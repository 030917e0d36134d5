"""Tests for openrms.schema.formats: canonical forms, specific error messages, and properties."""

from __future__ import annotations

import calendar
import string
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from openrms.schema.formats import (
    FormatError,
    cro_check_letter,
    driving_licence_birth_facts,
    normalise_collar_number,
    normalise_cro_number,
    normalise_driving_licence,
    normalise_email,
    normalise_ho_class,
    normalise_ni_number,
    normalise_offence_code,
    normalise_passport_number,
    normalise_person_name,
    normalise_phone,
    normalise_pnc_id,
    normalise_postcode,
    normalise_uprn,
    normalise_vin,
    normalise_vrm,
    pnc_check_letter,
    postcode_area,
    postcode_district,
    postcode_sector,
)

CHECK_TABLE = "ZABCDEFGHJKLMNPQRTUVWXY"
UPPER = string.ascii_uppercase
DIGITS = string.digits


# ---------------------------------------------------------------------------------------------------------
# Check letters, computed by hand
# ---------------------------------------------------------------------------------------------------------


def test_check_table_is_23_letters_without_i_o_s() -> None:
    assert len(CHECK_TABLE) == 23
    assert set(CHECK_TABLE) == set(UPPER) - {"I", "O", "S"}


def test_pnc_check_letters_computed_by_hand() -> None:
    # 2001/0123456: the number 01 0123456 = 10123456; 23 * 440150 = 10123450, remainder 6 -> 'F'.
    assert pnc_check_letter(2001, 123456) == "F"
    assert normalise_pnc_id("2001/0123456F") == "2001/0123456F"
    # 1998/0012345: the number 98 0012345 = 980012345; 23 * 42609232 = 980012336, remainder 9 -> 'J'.
    assert pnc_check_letter(1998, 12345) == "J"
    assert normalise_pnc_id("1998/0012345J") == "1998/0012345J"
    # 2029/0000001: 290000001 = 23 * 12608695 + 16 -> 'R'.
    # 1930/0000001: 300000001 = 23 * 13043478 + 7 -> 'G'.
    assert pnc_check_letter(2029, 1) == "R"
    assert pnc_check_letter(1930, 1) == "G"


def test_cro_check_letters_computed_by_hand() -> None:
    # 123456/95: the number 95 123456 = 95123456; 23 * 4135802 = 95123446, remainder 10 -> 'K'.
    assert cro_check_letter(95, 123456) == "K"
    # 000001/95: 95000001 = 23 * 4130434 + 19 -> 'V'.
    assert cro_check_letter(95, 1) == "V"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pnc_check_letter(2001, 10_000_000), "at most 7 digits"),
        (lambda: pnc_check_letter(-1, 5), "year should be 0-9999"),
        (lambda: cro_check_letter(100, 5), "2-digit year"),
        (lambda: cro_check_letter(95, 1_000_000), "at most 6 digits"),
    ],
)
def test_check_letter_functions_refuse_out_of_range(call: Callable[[], str], match: str) -> None:
    with pytest.raises(FormatError, match=match):
        call()


# ---------------------------------------------------------------------------------------------------------
# Valid examples
# ---------------------------------------------------------------------------------------------------------

VALID = [
    # PNC ID
    (normalise_pnc_id, "2001/0123456F", "2001/0123456F"),
    (normalise_pnc_id, " 01/123456f ", "2001/0123456F"),
    (normalise_pnc_id, "98/12345J", "1998/0012345J"),
    (normalise_pnc_id, "1998 / 0012345 j", "1998/0012345J"),
    (normalise_pnc_id, "29/1R", "2029/0000001R"),
    (normalise_pnc_id, "30/1G", "1930/0000001G"),
    # CRO number
    (normalise_cro_number, "123456/95K", "123456/95K"),
    (normalise_cro_number, " 1/95v", "000001/95V"),
    (normalise_cro_number, "sf 95/123456k", "SF 95/123456K"),
    (normalise_cro_number, "SF95/1V", "SF 95/000001V"),
    # NI number
    (normalise_ni_number, "AB123456C", "AB123456C"),
    (normalise_ni_number, " ab 12 34 56 c ", "AB123456C"),
    (normalise_ni_number, "OA123456D", "OA123456D"),
    # passport
    (normalise_passport_number, "123456789", "123456789"),
    (normalise_passport_number, " c01x 00t47 ", "C01X00T47"),
    (normalise_passport_number, "AB123", "AB123"),
    # driving licence
    (normalise_driving_licence, "MORGA753116SM9IJ", "MORGA753116SM9IJ"),
    (normalise_driving_licence, "morga 753116 sm9ij", "MORGA753116SM9IJ"),
    (normalise_driving_licence, "LEE99702296J99AB", "LEE99702296J99AB"),  # 29 Feb, initial 'J' padded
    (normalise_driving_licence, "SMITH862316AB1CD", "SMITH862316AB1CD"),  # woman born 23 Dec 1986
    # VRM
    (normalise_vrm, "ab12 cde", "AB12CDE"),
    (normalise_vrm, "A-1", "A1"),
    (normalise_vrm, "1", "1"),
    (normalise_vrm, "D 123 ABC 45", "D123ABC45"),
    # VIN
    (normalise_vin, "1hgcm82633a004352", "1HGCM82633A004352"),
    (normalise_vin, "WVW ZZZ 1JZ XW 000001", "WVWZZZ1JZXW000001"),
    # postcode
    (normalise_postcode, "ls14ap", "LS1 4AP"),
    (normalise_postcode, " LS1   4AP ", "LS1 4AP"),
    (normalise_postcode, "M1 1AE", "M1 1AE"),
    (normalise_postcode, "b338th", "B33 8TH"),
    (normalise_postcode, "CR2 6XH", "CR2 6XH"),
    (normalise_postcode, "DN55 1PT", "DN55 1PT"),
    (normalise_postcode, "w1a1aa", "W1A 1AA"),
    (normalise_postcode, "EC1A 1BB", "EC1A 1BB"),
    (normalise_postcode, "gir0aa", "GIR 0AA"),
    # Home Office class
    (normalise_ho_class, "028/01", "028/01"),
    (normalise_ho_class, "02801", "028/01"),
    (normalise_ho_class, " 105 / 01 ", "105/01"),
    # offence code
    (normalise_offence_code, "MD71101", "MD71101"),
    (normalise_offence_code, "th68010a", "TH68010A"),
    (normalise_offence_code, "TH68 010 C", "TH68010C"),
    (normalise_offence_code, "CJ03507I", "CJ03507I"),
    # collar number
    (normalise_collar_number, "4321", "4321"),
    (normalise_collar_number, " ab 0123 ", "AB0123"),
    # UPRN
    (normalise_uprn, "100023336956", "100023336956"),
    (normalise_uprn, "000100023336956", "100023336956"),
    (normalise_uprn, " 7 ", "7"),
    # phone
    (normalise_phone, "0113 234 5678", "+441132345678"),
    (normalise_phone, "+44 (0)113 2345678", "+441132345678"),
    (normalise_phone, "07700 900123", "+447700900123"),
    (normalise_phone, "+1 202 555 0123", "+12025550123"),
    (normalise_phone, "+441132345678", "+441132345678"),
    # email
    (normalise_email, " Jane.Doe@Example.ORG ", "Jane.Doe@example.org"),
    (normalise_email, "x+tag@police.uk", "x+tag@police.uk"),
    # person name
    (normalise_person_name, "  Mary   Jane ", "Mary Jane"),
    (normalise_person_name, "O’Brien", "O'Brien"),
    (normalise_person_name, "Smith-Jones", "Smith-Jones"),
    (normalise_person_name, "van der Berg", "van der Berg"),
    (normalise_person_name, "Zoë", "Zoë"),
    (normalise_person_name, "Zoe\u0308", "Zoë"),  # decomposed accent is stored composed (NFC)
    (normalise_person_name, "Łukasz", "Łukasz"),
    (normalise_person_name, "Дмитрий", "Дмитрий"),
    (normalise_person_name, "Lord", "Lord"),  # a surname, not a title, when it is the whole name
    (normalise_person_name, "Misra", "Misra"),
]


@pytest.mark.parametrize(("normalise", "raw", "expected"), VALID)
def test_valid_examples_normalise(normalise: Callable[[str], str], raw: str, expected: str) -> None:
    assert normalise(raw) == expected
    assert normalise(expected) == expected


def test_postcode_parts() -> None:
    assert postcode_sector("ls14ap") == "LS1 4"
    assert postcode_district("LS1 4AP") == "LS1"
    assert postcode_area("LS1 4AP") == "LS"
    assert postcode_area("M1 1AE") == "M"
    assert postcode_district("EC1A 1BB") == "EC1A"
    assert postcode_sector("EC1A 1BB") == "EC1A 1"
    assert postcode_area("ec1a1bb") == "EC"
    with pytest.raises(FormatError, match="no inward code"):
        postcode_area("LS1")


def test_driving_licence_birth_facts() -> None:
    # MORGA 7 53 11 6: decade 7, month 53 -> March and female, day 11, year digit 6 -> 76.
    assert driving_licence_birth_facts("MORGA753116SM9IJ") == (76, 3, 11, "F")
    assert driving_licence_birth_facts("jones 610 040 jd2ab") == (60, 10, 4, "M")
    assert driving_licence_birth_facts("LEE99702296J99AB") == (76, 2, 29, "M")
    with pytest.raises(FormatError, match="birth month '13'"):
        driving_licence_birth_facts("MORGA713116SM9IJ")


# ---------------------------------------------------------------------------------------------------------
# Invalid examples: each kind of error, with the key fact in the message
# ---------------------------------------------------------------------------------------------------------

INVALID = [
    # PNC ID
    (normalise_pnc_id, "", r"PNC ID is empty; expected e\.g\. '2001/0123456F'"),
    (normalise_pnc_id, "20010123456F", r"one '/' between year and serial"),
    (normalise_pnc_id, "2001/01/23456F", r"one '/'"),
    (normalise_pnc_id, "/0123456F", r"no year before the '/'"),
    (normalise_pnc_id, "201/0123456F", r"year '201'; expected 4 digits \(or 2\)"),
    (normalise_pnc_id, "1850/0123456F", r"year 1850; expected a year from 1900 to 2099"),
    (normalise_pnc_id, "2001/F", r"no serial number after the '/'"),
    (normalise_pnc_id, "2001/12345678F", r"serial of 8 digits; expected at most 7"),
    (normalise_pnc_id, "2001/0123456", r"no check letter; expected '2001/0123456F'"),
    (normalise_pnc_id, "2001/0123456Q", r"PNC ID check letter should be 'F' for '2001/0123456', not 'Q'"),
    (normalise_pnc_id, "01/123456i", r"should be 'F' for '2001/0123456', not 'I'"),
    (normalise_pnc_id, "2001/01234-56F", r"year, '/', serial digits and one check letter"),
    (normalise_pnc_id, "２００１/0123456F", r"contains '２', which is not a plain letter or digit"),
    # CRO number
    (normalise_cro_number, "", r"CRO number is empty"),
    (normalise_cro_number, "123456/95", r"no check letter; expected '123456/95K'"),
    (normalise_cro_number, "123456/95A", r"check letter should be 'K' for '123456/95', not 'A'"),
    (normalise_cro_number, "1234567/95K", r"1-6 serial digits, '/', 2-digit year"),
    (normalise_cro_number, "123456/1995K", r"2-digit year"),
    (normalise_cro_number, "SF 95/123456", r"no check letter; expected 'SF 95/123456K'"),
    (normalise_cro_number, "SF 95/123456A", r"should be 'K' for 'SF 95/123456', not 'A'"),
    (normalise_cro_number, "SF 1995/123456K", r"fingerprint-only CRO number 'SF1995/123456K'"),
    # NI number
    (
        normalise_ni_number,
        "AB123456",
        r"no suffix letter; expected A, B, C or D at the end, e\.g\. 'AB123456C'",
    ),
    (normalise_ni_number, "DA123456", r"cannot start with 'D'"),
    (normalise_ni_number, "AB123456E", r"suffix 'E'; expected A, B, C or D"),
    (normalise_ni_number, "DA123456A", r"cannot start with 'D': D, F, I, Q, U, V"),
    (normalise_ni_number, "AO123456A", r"cannot have 'O' as its second letter"),
    (normalise_ni_number, "GB123456A", r"prefix 'GB', which is never allocated"),
    (normalise_ni_number, "ZZ123456A", r"prefix 'ZZ', which is never allocated"),
    (normalise_ni_number, "1B123456C", r"should start with two letters, not '1B'"),
    (normalise_ni_number, "AB12A456C", r"six digits after the prefix, not '12A456'"),
    (normalise_ni_number, "AB1234567C", r"10 characters; expected 9"),
    # passport
    (normalise_passport_number, "1234", r"4 characters; expected 5-20"),
    (normalise_passport_number, "A" * 21, r"21 characters; expected 5-20"),
    (normalise_passport_number, "123-456-789", r"contains '-' at position 4"),
    (normalise_passport_number, "  ", r"passport number is empty"),
    # driving licence
    (normalise_driving_licence, "MORGA753116SM9I", r"15 characters; expected 16"),
    (normalise_driving_licence, "MORGA753116SM9IJ01", r"issue number: store only the first 16 \('MORGA"),
    (normalise_driving_licence, "MO9GA753116SM9IJ", r"first 5 letters of the surname.*not 'MO9GA'"),
    (normalise_driving_licence, "MORGA7X3116SM9IJ", r"6 digits \(date of birth\) at characters 6-11"),
    (normalise_driving_licence, "MORGA713116SM9IJ", r"birth month '13'.*01-12, or 51-62 for women"),
    (normalise_driving_licence, "MORGA763116SM9IJ", r"birth month '63'"),
    (normalise_driving_licence, "MORGA702306SM9IJ", r"birth day '30'.*month 2 has days 01-29"),
    (normalise_driving_licence, "MORGA754316SM9IJ", r"birth day '31'.*month 4 has days 01-30"),
    (normalise_driving_licence, "MORGA753006SM9IJ", r"birth day '00'"),
    (normalise_driving_licence, "MORGA7531169S9IJ", r"two initials padded with '9'.*not '9S'"),
    (normalise_driving_licence, "MORGA753116SMXIJ", r"digit at character 14, not 'X'"),
    (normalise_driving_licence, "MORGA753116SM912", r"two check letters at characters 15-16, not '12'"),
    # VRM
    (normalise_vrm, "AB12 CDE!", r"contains '!' at position 8"),
    (normalise_vrm, "ABCDEFGHIJKL", r"12 characters; expected 1-11"),
    (normalise_vrm, "- -", r"no letters or digits"),
    # VIN
    (normalise_vin, "1HGCM82633AO04352", r"'O' at position 12; the letters I, O and Q .*did you mean '0'"),
    (normalise_vin, "1HGCM82633AI04352", r"'I' at position 12.*did you mean '1'"),
    (normalise_vin, "1HGCM82633A00435", r"16 characters; expected 17"),
    (normalise_vin, "1HGCM8263-A004352", r"contains '-' at position 10"),
    # postcode
    (normalise_postcode, "LS1 4", r"postcode 'LS1 4' has no inward code; expected e\.g\. 'LS1 4AP'"),
    (normalise_postcode, "ls1", r"postcode 'LS1' has no inward code"),
    (normalise_postcode, "1", r"postcode '1' is too short"),
    (normalise_postcode, "LS1 4AP XX", r"too long: 8 letters and digits, expected 5-7"),
    (normalise_postcode, "LS1 4CP", r"'C' in its inward code '4CP'; the letters C, I, K, M, O, V"),
    (normalise_postcode, "LS1 4AV", r"'V' in its inward code"),
    (normalise_postcode, "LS1 AAP", r"inward code 'AAP', which should start with a digit"),
    (normalise_postcode, "LS1 44P", r"inward code '44P', which should end with two letters"),
    (normalise_postcode, "L1S1 4AP", r"outward code 'L1S1', which fits none of the patterns"),
    (normalise_postcode, "123 4AP", r"outward code '123'"),
    (normalise_postcode, "LS1-4AP", r"contains '-'; only letters, digits and one space"),
    (normalise_postcode, "", r"postcode is empty"),
    # Home Office class
    (normalise_ho_class, "28/1", r"2 digit\(s\) before the '/' and 1 after; expected 3 and 2"),
    (normalise_ho_class, "028-01", r"contains '-'"),
    (normalise_ho_class, "0281", r"3 digits, '/', 2 digits \(or 5 digits\)"),
    (normalise_ho_class, "028/01/1", r"3 digits, '/', 2 digits"),
    # offence code
    (normalise_offence_code, "MD7110", r"6 characters; expected 7"),
    (normalise_offence_code, "M171101", r"start with two letters, not 'M1'"),
    (normalise_offence_code, "MD7A101", r"five digits after the letters, not '7A101'"),
    (normalise_offence_code, "TH68010X", r"ends with 'X'; the qualifier must be A \(attempt\)"),
    # collar number
    (normalise_collar_number, "12345678901", r"11 characters; expected 1-10"),
    (normalise_collar_number, "PC 12/34", r"contains '/' at position 5"),
    # UPRN
    (normalise_uprn, "12A", r"contains 'A'; a UPRN is digits only"),
    (normalise_uprn, "000", r"is zero"),
    (normalise_uprn, "1234567890123", r"13 digits; expected at most 12"),
    # phone
    (normalise_phone, "", r"phone number is empty"),
    (normalise_phone, "hello", r"'hello' is not a phone number"),
    (normalise_phone, "12", r"'12' is not a possible number: it has too few digits"),
    (normalise_phone, "0113 234 5678 ext 123", r"extension '123', which E\.164 cannot hold"),
    (normalise_phone, "+", r"not a phone number"),
    # email
    (normalise_email, "", r"email address is empty"),
    (normalise_email, "jane doe@example.org", r"contains white space"),
    (normalise_email, "jane.example.org", r"has no '@'; expected exactly one"),
    (normalise_email, "a@b@example.org", r"has 2 '@' signs; expected exactly one"),
    (normalise_email, "@example.org", r"nothing before the '@'"),
    (normalise_email, "jane@", r"no domain after the '@'"),
    (normalise_email, "jane@localhost", r"domain 'localhost' without a dot"),
    (normalise_email, "jane@example..org", r"empty part"),
    (normalise_email, "jane@.org", r"empty part"),
    # person name
    (normalise_person_name, "", r"name is empty"),
    (normalise_person_name, " \t ", r"name is empty"),
    (normalise_person_name, "J0hn", r"contains the digit '0'; names cannot contain digits"),
    (normalise_person_name, "John!", r"contains '!'; only letters, spaces, hyphens and apostrophes"),
    (normalise_person_name, "Smith, John", r"contains ','"),
    (normalise_person_name, "Mr John Smith", r"starts with the title 'Mr'; put titles in the title field"),
    (normalise_person_name, "dr. Jones", r"starts with the title 'dr\.'"),
    (normalise_person_name, "DAME Judi", r"title 'DAME'"),
    (normalise_person_name, "A" * 101, r"101 characters; at most 100"),
    (normalise_person_name, "-'", r"contains no letters"),
]


@pytest.mark.parametrize(("normalise", "raw", "match"), INVALID)
def test_invalid_examples_raise_with_specific_message(
    normalise: Callable[[str], str], raw: str, match: str
) -> None:
    with pytest.raises(FormatError, match=match):
        normalise(raw)


def test_format_error_is_a_value_error() -> None:
    assert issubclass(FormatError, ValueError)


@pytest.mark.parametrize(
    "normalise", [normalise_pnc_id, normalise_phone, normalise_email, normalise_person_name]
)
def test_non_text_is_refused_with_format_error(normalise: Callable[[str], str]) -> None:
    with pytest.raises(FormatError, match="must be text, not NoneType"):
        normalise(None)  # type: ignore[arg-type]


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(FormatError) as info:
        normalise_passport_number("A" * 500)
    assert len(str(info.value)) < 120


# ---------------------------------------------------------------------------------------------------------
# Property-based tests: check letters
# ---------------------------------------------------------------------------------------------------------

pnc_years = st.integers(1900, 2099)
pnc_serials = st.integers(0, 9_999_999)
cro_years = st.integers(0, 99)
cro_serials = st.integers(0, 999_999)


@given(pnc_years, pnc_serials)
def test_pnc_check_letter_follows_the_mod_23_table(year: int, serial: int) -> None:
    assert pnc_check_letter(year, serial) == CHECK_TABLE[int(f"{year % 100:02d}{serial:07d}") % 23]


@given(pnc_years, pnc_serials)
def test_pnc_id_built_with_its_check_letter_validates(year: int, serial: int) -> None:
    pnc_id = f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"
    assert normalise_pnc_id(pnc_id) == pnc_id
    # the short form (2-digit year, unpadded serial) normalises to the same ID when the year is in range
    if 1930 <= year <= 2029:
        assert normalise_pnc_id(f"{year % 100:02d}/{serial}{pnc_id[-1].lower()}") == pnc_id


@given(pnc_years, pnc_serials, st.sampled_from(UPPER))
def test_pnc_id_with_any_other_letter_fails(year: int, serial: int, letter: str) -> None:
    right = pnc_check_letter(year, serial)
    assume(letter != right)
    with pytest.raises(FormatError, match=f"should be '{right}' for '{year}/{serial:07d}', not '{letter}'"):
        normalise_pnc_id(f"{year}/{serial:07d}{letter}")


@given(cro_years, cro_serials)
def test_cro_check_letter_follows_the_mod_23_table(year2: int, serial: int) -> None:
    assert cro_check_letter(year2, serial) == CHECK_TABLE[int(f"{year2:02d}{serial:06d}") % 23]


@given(cro_years, cro_serials)
def test_cro_number_built_with_its_check_letter_validates(year2: int, serial: int) -> None:
    letter = cro_check_letter(year2, serial)
    assert normalise_cro_number(f"{serial:06d}/{year2:02d}{letter}") == f"{serial:06d}/{year2:02d}{letter}"
    assert normalise_cro_number(f"{serial}/{year2:02d}{letter}") == f"{serial:06d}/{year2:02d}{letter}"
    assert normalise_cro_number(f"sf{year2:02d}/{serial}{letter}") == f"SF {year2:02d}/{serial:06d}{letter}"


@given(cro_years, cro_serials, st.sampled_from(UPPER))
def test_cro_number_with_any_other_letter_fails(year2: int, serial: int, letter: str) -> None:
    right = cro_check_letter(year2, serial)
    assume(letter != right)
    with pytest.raises(FormatError, match=f"should be '{right}'"):
        normalise_cro_number(f"{serial:06d}/{year2:02d}{letter}")
    with pytest.raises(FormatError, match=f"should be '{right}'"):
        normalise_cro_number(f"SF {year2:02d}/{serial:06d}{letter}")


# ---------------------------------------------------------------------------------------------------------
# Property-based tests: idempotence over generated valid inputs
# ---------------------------------------------------------------------------------------------------------


def _chars(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=size, max_size=size)


def _messy(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Add the sloppiness the normalisers accept: lower case and surrounding white space."""
    return st.builds(
        lambda value, lower, pad: pad + (value.lower() if lower else value) + pad,
        text,
        st.booleans(),
        st.sampled_from(["", " ", "\t", "  "]),
    )


@st.composite
def pnc_ids(draw: st.DrawFn) -> str:
    year, serial = draw(pnc_years), draw(pnc_serials)
    year_text = f"{year % 100:02d}" if 1930 <= year <= 2029 and draw(st.booleans()) else str(year)
    serial_text = str(serial) if draw(st.booleans()) else f"{serial:07d}"
    return f"{year_text}/{serial_text}{pnc_check_letter(year, serial)}"


@st.composite
def cro_numbers(draw: st.DrawFn) -> str:
    year2, serial = draw(cro_years), draw(cro_serials)
    letter = cro_check_letter(year2, serial)
    if draw(st.booleans()):
        return f"SF {year2:02d}/{serial}{letter}"
    return f"{serial}/{year2:02d}{letter}"


@st.composite
def ni_numbers(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from([c for c in UPPER if c not in "DFIQUV"]))
    second = draw(st.sampled_from([c for c in UPPER if c not in "DFIOQUV"]))
    assume(first + second not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
    return first + second + draw(_chars(DIGITS, 6)) + draw(st.sampled_from("ABCD"))


@st.composite
def driving_licences(draw: st.DrawFn) -> str:
    surname = draw(st.text(alphabet=UPPER, min_size=1, max_size=5)).ljust(5, "9")
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(2000, month)[1]))
    coded_month = month + 50 if draw(st.booleans()) else month
    decade, year_digit = draw(st.sampled_from(DIGITS)), draw(st.sampled_from(DIGITS))
    initials = draw(st.text(alphabet=UPPER, max_size=2)).ljust(2, "9")
    tail = draw(st.sampled_from(DIGITS)) + draw(_chars(UPPER, 2))
    return f"{surname}{decade}{coded_month:02d}{day:02d}{year_digit}{initials}{tail}"


@st.composite
def postcodes(draw: st.DrawFn) -> str:
    pattern = draw(st.sampled_from(["A9", "A99", "AA9", "AA99", "A9A", "AA9A"]))
    outward = "".join(draw(st.sampled_from(UPPER if p == "A" else DIGITS)) for p in pattern)
    inward = draw(st.sampled_from(DIGITS)) + draw(_chars("ABDEFGHJLNPQRSTUWXYZ", 2))
    return outward + draw(st.sampled_from(["", " ", "  "])) + inward


@st.composite
def phones(draw: st.DrawFn) -> str:
    national = draw(st.sampled_from(["07", "01", "02"])) + draw(_chars(DIGITS, 9))
    return draw(st.sampled_from([national, "+44 " + national[1:], "+44 (0)" + national[1:]]))


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.text(alphabet=string.ascii_letters + DIGITS + "._+-", min_size=1, max_size=20))
    labels = draw(
        st.lists(
            st.text(alphabet=string.ascii_letters + DIGITS, min_size=1, max_size=10), min_size=2, max_size=4
        )
    )
    return f"{local}@{'.'.join(labels)}"


TITLES = {"mr", "mrs", "ms", "miss", "dr", "rev", "sir", "lady", "lord", "prof", "mx", "dame"}


@st.composite
def person_names(draw: st.DrawFn) -> str:
    word = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12)
    words = draw(st.lists(word, min_size=1, max_size=4))
    assume(len(words) == 1 or words[0].casefold() not in TITLES)
    separators = draw(
        st.lists(
            st.sampled_from([" ", "-", "'", "’", "  "]), min_size=len(words) - 1, max_size=len(words) - 1
        )
    )
    name = words[0] + "".join(sep + w for sep, w in zip(separators, words[1:], strict=True))
    assume(len(name) <= 100)
    return name


ho_classes = st.builds(lambda d, slash: d[:3] + slash + d[3:], _chars(DIGITS, 5), st.sampled_from(["", "/"]))
offence_codes = st.builds(
    lambda letters, digits, qualifier: letters + digits + qualifier,
    _chars(UPPER, 2),
    _chars(DIGITS, 5),
    st.sampled_from(["", "A", "B", "C", "I"]),
)
vrms = st.builds(
    lambda plate, separator, cut: plate[:cut] + separator + plate[cut:],
    st.text(alphabet=UPPER + DIGITS, min_size=1, max_size=11),
    st.sampled_from(["", " ", "-"]),
    st.integers(1, 10),
)
uprns = st.builds(lambda n, zeros: "0" * zeros + str(n), st.integers(1, 10**12 - 1), st.integers(0, 3))


def _padded(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Surrounding white space only: e-mail local parts and names keep their case."""
    return st.builds(lambda value, pad: pad + value + pad, text, st.sampled_from(["", " ", "\n"]))


VALID_INPUTS: list[tuple[Callable[[str], str], st.SearchStrategy[str]]] = [
    (normalise_pnc_id, _messy(pnc_ids())),
    (normalise_cro_number, _messy(cro_numbers())),
    (normalise_ni_number, _messy(ni_numbers())),
    (normalise_passport_number, _messy(st.text(alphabet=UPPER + DIGITS, min_size=5, max_size=20))),
    (normalise_driving_licence, _messy(driving_licences())),
    (normalise_vrm, _messy(vrms)),
    (normalise_vin, _messy(st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ" + DIGITS, min_size=17, max_size=17))),
    (normalise_postcode, _messy(postcodes())),
    (normalise_ho_class, ho_classes),
    (normalise_offence_code, _messy(offence_codes)),
    (normalise_collar_number, _messy(st.text(alphabet=UPPER + DIGITS, min_size=1, max_size=10))),
    (normalise_uprn, uprns),
    (normalise_phone, phones()),
    (normalise_email, _padded(emails())),
    (normalise_person_name, _padded(person_names())),
]


@pytest.mark.parametrize(("normalise", "inputs"), VALID_INPUTS, ids=lambda x: getattr(x, "__name__", ""))
@given(data=st.data())
def test_normalise_is_idempotent_on_valid_input(
    normalise: Callable[[str], str], inputs: st.SearchStrategy[str], data: st.DataObject
) -> None:
    raw = data.draw(inputs, label="raw")
    canonical = normalise(raw)
    assert normalise(canonical) == canonical


@given(driving_licences())
def test_driving_licence_birth_facts_round_trip(licence: str) -> None:
    year, month, day, sex = driving_licence_birth_facts(licence)
    coded_month = int(licence[6:8])
    assert year == int(licence[5] + licence[10])
    assert (month, sex) == ((coded_month - 50, "F") if coded_month > 50 else (coded_month, "M"))
    assert day == int(licence[8:10])


@given(postcodes())
def test_postcode_parts_fit_together(raw: str) -> None:
    postcode = normalise_postcode(raw)
    district, sector = postcode_district(postcode), postcode_sector(postcode)
    assert postcode == f"{district} {postcode[-3:]}"
    assert sector == f"{district} {postcode[-3]}"
    assert district.startswith(postcode_area(postcode))
    assert postcode_area(postcode).isalpha()


# ---------------------------------------------------------------------------------------------------------
# Property-based tests: random text raises nothing but FormatError
# ---------------------------------------------------------------------------------------------------------

ALL_NORMALISERS: list[Callable[[str], object]] = [
    normalise_pnc_id,
    normalise_cro_number,
    normalise_ni_number,
    normalise_passport_number,
    normalise_driving_licence,
    normalise_vrm,
    normalise_vin,
    normalise_postcode,
    normalise_ho_class,
    normalise_offence_code,
    normalise_collar_number,
    normalise_uprn,
    normalise_phone,
    normalise_email,
    normalise_person_name,
    driving_licence_birth_facts,
    postcode_sector,
    postcode_district,
    postcode_area,
]

# Characters that reach deeper into the parsers than arbitrary Unicode does.
NEAR_MISS = UPPER + string.ascii_lowercase + DIGITS + "/ -'’.@+()\t" + "ßıİ２Ⅻ\u0301\u200b"
random_text = st.one_of(st.text(), st.text(alphabet=NEAR_MISS, max_size=24))


@pytest.mark.parametrize("normalise", ALL_NORMALISERS, ids=lambda fn: fn.__name__)
@given(text=random_text)
def test_random_text_raises_only_format_error(normalise: Callable[[str], object], text: str) -> None:
    try:
        result = normalise(text)
    except FormatError as exc:
        assert str(exc)
        return
    if normalise in {driving_licence_birth_facts, postcode_sector, postcode_district, postcode_area}:
        return
    assert isinstance(result, str)
    assert normalise(result) == result  # whatever is accepted is accepted again unchanged
