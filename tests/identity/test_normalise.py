"""Tests for openrms.identity.normalise: concrete keys for each function, and properties over any text."""

from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from openrms.identity.normalise import (
    PartialDate,
    address_key,
    email,
    fold,
    forename_key,
    forename_tokens,
    identifier,
    name_tokens,
    nickname_roots,
    organisation_key,
    parse_date,
    phone,
    phonetic,
    postcode,
    postcode_district,
    postcode_sector,
    surname_key,
    surname_parts,
    swapped,
    vin,
    vrm,
)

PROPERTY = settings(max_examples=200, deadline=None)

# ---------------------------------------------------------------------------------------------------------
# fold
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("José", "JOSE"),
        ("Zoë", "ZOE"),
        ("O'Brien", "OBRIEN"),
        ("O’Brien", "OBRIEN"),
        ("Müller", "MULLER"),
        ("Straße", "STRASSE"),
        ("Ærøskøbing", "AEROSKOBING"),
        ("Łukasz", "LUKASZ"),
        ("Smith-Jones", "SMITH JONES"),
        ("  mary   ann\t", "MARY ANN"),
        ("a.b,c;d", "A B C D"),
        ("flat 2/12a", "FLAT 2 12A"),
        ("Ivan 😀 Петров", "IVAN"),
        ("", ""),
        ("   ", ""),
        ("\x00", ""),
        ("李小龙", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_fold_decomposed_accent_equals_precomposed() -> None:
    assert fold("Jose\u0301") == fold("Jos\u00e9") == "JOSE"


# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr John Smith", ["JOHN", "SMITH"]),
        ("Dr. Mary-Jane Smith-Jones Jr", ["MARY", "JANE", "SMITH", "JONES"]),
        ("Sir Elton John III", ["ELTON", "JOHN"]),
        ("Lord", ["LORD"]),  # a surname that is also a title stays when it is all there is
        ("John Lord", ["JOHN", "LORD"]),  # titles only come off the front
        ("Mrs", ["MRS"]),
        ("", []),
        (None, []),
        ("--", []),
    ],
)
def test_name_tokens(text: str | None, expected: list[str]) -> None:
    assert name_tokens(text) == expected


def test_name_tokens_returns_a_fresh_list() -> None:
    name_tokens("John Smith").append("X")
    assert name_tokens("John Smith") == ["JOHN", "SMITH"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("McDonald", "MACDONALD"),
        ("Mc Donald", "MACDONALD"),
        ("MacDonald", "MACDONALD"),
        ("M'Donald", "MACDONALD"),
        ("mcdonald", "MACDONALD"),
        ("Mace", "MACE"),
        ("Mack", "MACK"),
        ("Machin", "MACHIN"),
        ("Macon", "MACON"),
        ("M'Baye", "MBAYE"),
        ("van der Berg", "VANDERBERG"),
        ("Van Der Berg", "VANDERBERG"),
        ("Vanderberg", "VANDERBERG"),
        ("De La Cruz", "DELACRUZ"),
        ("O Brien", "OBRIEN"),
        ("O'Brien", "OBRIEN"),
        ("St John", "STJOHN"),
        ("Saint John", "STJOHN"),
        ("St. John", "STJOHN"),
        ("Smith-Jones", "SMITHJONES"),
        ("Smith Jones", "SMITHJONES"),
        ("Smith - Jones", "SMITHJONES"),
        ("Núñez", "NUNEZ"),
        ("Smith Jr", "SMITH"),
        ("", None),
        (None, None),
        ("'-.", None),
    ],
)
def test_surname_key(text: str | None, expected: str | None) -> None:
    assert surname_key(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Smith-Jones", ["SMITHJONES", "SMITH", "JONES"]),
        ("Smith", ["SMITH"]),
        ("van der Berg", ["VANDERBERG"]),
        ("Smith-van der Berg", ["SMITHVANDERBERG", "SMITH", "VANDERBERG"]),
        ("Garcia de la Cruz", ["GARCIADELACRUZ", "GARCIA", "DELACRUZ"]),
        ("McDonald-Smith", ["MACDONALDSMITH", "MACDONALD", "SMITH"]),
        ("Smith Smith", ["SMITHSMITH", "SMITH"]),
        ("", []),
        (None, []),
    ],
)
def test_surname_parts(text: str | None, expected: list[str]) -> None:
    assert surname_parts(text) == expected


def test_forenames() -> None:
    assert forename_key("Dr. José Luis") == "JOSE"
    assert forename_tokens("Dr. José Luis") == ["JOSE", "LUIS"]
    assert forename_tokens("Mary-Jane") == ["MARY", "JANE"]
    assert forename_key("Zoë") == "ZOE"
    assert forename_key("") is None
    assert forename_key(None) is None
    assert forename_key("...") is None
    assert forename_tokens(None) == []


def test_nickname_roots() -> None:
    assert {"BILL", "WILLIAM"} <= set(nickname_roots("Bill"))
    assert {"PEGGY", "MARGARET"} <= set(nickname_roots("peggy"))
    assert "WILLIAM" in nickname_roots("William")
    assert "JOHN" in nickname_roots("Jon")
    # Bill and William are compatible: their roots intersect.
    assert set(nickname_roots("Bill")) & set(nickname_roots("William"))
    assert nickname_roots("Zoë") == ("ZOE",)
    assert nickname_roots("Xyzzy") == ("XYZZY",)
    assert nickname_roots("") == ()
    assert nickname_roots(None) == ()


def test_nickname_roots_sorted_capped_and_keeps_the_name() -> None:
    for name in ["Al", "Chris", "Ann", "Bert", "Lena", "Bill"]:
        roots = nickname_roots(name)
        assert list(roots) == sorted(roots)
        assert len(roots) <= 12
        assert fold(name) in roots


def test_phonetic() -> None:
    assert phonetic("Smith") == phonetic("Smyth") == "SM0"
    assert phonetic("Jon") == phonetic("John")
    assert phonetic("Catherine") == phonetic("Kathryn")
    assert phonetic("Stephen") == phonetic("Steven")
    assert phonetic("O'Brien") == phonetic("OBrien")
    assert phonetic("Zoë") == phonetic("Zoe")
    assert phonetic("") is None
    assert phonetic(None) is None
    assert phonetic("123") is None
    assert phonetic("😀") is None


def test_phonetic_agreements() -> None:
    for first, second in [
        ("Philip", "Filip"),
        ("Geoff", "Jeff"),
        ("Mohammed", "Muhammad"),
        ("Clark", "Clarke"),
        ("Jayne", "Jane"),
        ("Knight", "Night"),
        ("McDonald", "MacDonald"),
    ]:
        assert phonetic(first) == phonetic(second), (first, second)


def test_phonetic_known_limits() -> None:
    """Metaphone keys these alike-sounding pairs differently; match features must not rely on it alone."""
    for first, second in [
        ("Thompson", "Tompson"),  # TH -> '0' even where it is said T
        ("Sean", "Shaun"),
        ("Christopher", "Kristopher"),  # CH -> 'X'
        ("Siobhan", "Shivaun"),  # Irish spelling
        ("Niamh", "Neeve"),
        ("Aileen", "Eileen"),  # a leading vowel is kept as written
    ]:
        assert phonetic(first) != phonetic(second), (first, second)


# ---------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1985-07-03", PartialDate(1985, 7, 3)),
        ("1985-7-3", PartialDate(1985, 7, 3)),
        ("1985-07-03T10:30:00Z", PartialDate(1985, 7, 3)),
        ("1985-07", PartialDate(1985, 7)),
        ("1985", PartialDate(1985)),
        ("03/07/1985", PartialDate(1985, 7, 3)),
        ("3/7/1985", PartialDate(1985, 7, 3)),
        ("03-07-1985", PartialDate(1985, 7, 3)),
        ("03.07.1985", PartialDate(1985, 7, 3)),
        ("19850703", PartialDate(1985, 7, 3)),
        (" 03/07/1985 ", PartialDate(1985, 7, 3)),
        ("29/02/2024", PartialDate(2024, 2, 29)),
        ("01/01/1980", PartialDate(1980, 1, 1, placeholder=True)),
        ("1980-01-01", PartialDate(1980, 1, 1, placeholder=True)),
    ],
)
def test_parse_date(text: str, expected: PartialDate) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "31/02/1990",
        "29/02/2023",
        "1990-02-30",
        "1990-13-01",
        "32/01/1990",
        "00/01/1990",
        "1990-00",
        "0000",
        "03/07-1985",  # mixed separators
        "July 1985",
        "19851303",
        "",
        "   ",
        "1985-07-03x",
    ],
)
def test_parse_date_refuses(text: str) -> None:
    assert parse_date(text) is None


def test_parse_date_none() -> None:
    assert parse_date(None) is None


def test_two_digit_years() -> None:
    this_year = datetime.date.today().year % 100
    assert parse_date("3/7/85") == PartialDate(1985, 7, 3)
    assert parse_date("03/07/05") == PartialDate(2005, 7, 3)
    assert parse_date("1/2/00") == PartialDate(2000, 2, 1)
    assert parse_date(f"1/2/{this_year:02d}") == PartialDate(2000 + this_year, 2, 1)
    if this_year < 99:
        assert parse_date(f"1/2/{this_year + 1:02d}") == PartialDate(1901 + this_year, 2, 1)


def test_placeholder_matchable() -> None:
    placeholder = parse_date("01/01/1980")
    assert placeholder is not None and placeholder.placeholder
    assert placeholder.matchable() == PartialDate(1980)
    real = parse_date("02/01/1980")
    assert real is not None and not real.placeholder
    assert real.matchable() is real


def test_iso() -> None:
    assert PartialDate(1985, 7, 3).iso() == "1985-07-03"
    assert PartialDate(1985, 7).iso() == "1985-07"
    assert PartialDate(1985).iso() == "1985"
    assert PartialDate(None).iso() == ""


def test_swapped() -> None:
    assert swapped(PartialDate(1985, 7, 3)) == PartialDate(1985, 3, 7)
    assert swapped(PartialDate(1985, 7, 13)) is None  # 13 cannot be a month
    assert swapped(PartialDate(1985, 7, 7)) is None  # same either way
    assert swapped(PartialDate(1985, 7)) is None
    assert swapped(PartialDate(1985)) is None


def test_partial_date_is_frozen() -> None:
    date = PartialDate(1985, 7, 3)
    with pytest.raises(AttributeError):
        date.year = 1986  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------------
# Vehicles, postcodes, phones, e-mail
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ab12 cde", "AB12CDE"),
        ("AB12CDE", "AB12CDE"),
        ("AB-12-CDE", "AB12CDE"),
        (" a 1 ", "A1"),
        ("D-AB 1234", "DAB1234"),  # German plate
        ("A", None),
        ("ABCDEFGHIJK", None),
        ("", None),
        (None, None),
    ],
)
def test_vrm(text: str | None, expected: str | None) -> None:
    assert vrm(text) == expected


def test_vin() -> None:
    assert vin("1hgcm82633a004352") == "1HGCM82633A004352"
    assert vin("1HGCM 82633 A004352") == "1HGCM82633A004352"
    assert vin("1HGCM82633O004352") is None  # O is never used
    assert vin("1HGCM82633A00435") is None
    assert vin("") is None
    assert vin(None) is None


@pytest.mark.parametrize("text", ["LS1 4AP", "ls1 4ap", "LS14AP", "ls14ap", " ls1  4ap ", "LS1-4AP"])
def test_postcode_forms(text: str) -> None:
    assert postcode(text) == "LS1 4AP"
    assert postcode_sector(text) == "LS1 4"
    assert postcode_district(text) == "LS1"


@pytest.mark.parametrize("text", ["", None, "LS1", "LS1 4", "NOT A POSTCODE", "LS1 4CI", "12345"])
def test_postcode_invalid(text: str | None) -> None:
    assert postcode(text) is None
    assert postcode_sector(text) is None
    assert postcode_district(text) is None


def test_postcode_other_shapes() -> None:
    assert postcode("ec1a1bb") == "EC1A 1BB"
    assert postcode_district("EC1A 1BB") == "EC1A"
    assert postcode("m11aa") == "M1 1AA"


@pytest.mark.parametrize(
    "text",
    [
        "0113 496 0000",
        "01134960000",
        "(0113) 496-0000",
        "+44 113 496 0000",
        "+44 (0)113 496 0000",
        "+44(0)1134960000",
        "0044 113 496 0000",
        "+441134960000",
        "0113 496 0000 ext. 12",
    ],
)
def test_phone_forms(text: str) -> None:
    assert phone(text) == "+441134960000"


def test_phone_other() -> None:
    assert phone("07700 900123") == "+447700900123"
    assert phone("+1 202-555-0123") == "+12025550123"
    assert phone("(202) 555-0123", region="US") == "+12025550123"
    for bad in ["", "   ", None, "12", "not a phone", "0113 496 00000000000"]:
        assert phone(bad) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Foo.Bar@Example.COM ", "foo.bar@example.com"),
        ("foo.bar@gmail.com", "foo.bar@gmail.com"),  # no provider-specific dot tricks
        ("a@b", None),
        ("a@@b.com", None),
        ("a@b@c.com", None),
        ("@b.com", None),
        ("a b@c.com", None),
        ("no-at-sign.com", None),
        ("a@b..com", None),
        ("", None),
        (None, None),
    ],
)
def test_email(text: str | None, expected: str | None) -> None:
    assert email(text) == expected


# ---------------------------------------------------------------------------------------------------------
# Addresses, organisations, identifiers
# ---------------------------------------------------------------------------------------------------------


def test_address_key_abbreviations() -> None:
    long = address_key("12", None, "High Street", "LS1 4AP")
    assert long == "12|HIGH STREET|LS1 4AP"
    assert address_key(12, None, "high st.", "ls14ap") == long
    for short, full in [
        ("Park Rd", "PARK ROAD"),
        ("Park Ave", "PARK AVENUE"),
        ("Park Ln", "PARK LANE"),
        ("Park Dr", "PARK DRIVE"),
        ("Park Cres", "PARK CRESCENT"),
        ("Park Cl", "PARK CLOSE"),
        ("Park Ct", "PARK COURT"),
        ("Park Pl", "PARK PLACE"),
        ("Park Sq", "PARK SQUARE"),
        ("Park Ter", "PARK TERRACE"),
        ("Park Terr", "PARK TERRACE"),
        ("Park Gdns", "PARK GARDENS"),
    ]:
        assert address_key("1", None, short, None) == f"1|{full}|"


def test_address_key_saint_and_building_names() -> None:
    # ST is Street only as the last word.
    assert address_key("3", None, "St. Mary's Rd", None) == "3|ST MARYS ROAD|"
    assert address_key(None, "Rose Cottage", "Mill Lane", "LS1 4AP") == "ROSE COTTAGE|MILL LANE|LS1 4AP"
    assert address_key("5", "Rose Cottage", "Mill Lane", None) == "5|MILL LANE|"
    assert address_key("12 a", None, "x", None) == address_key("12A", None, "X", None) == "12A|X|"
    assert address_key("12-14", None, None, None) == "12-14||"
    assert address_key(None, None, "High Street", "LS1 4AP") == "|HIGH STREET|LS1 4AP"


def test_address_key_none() -> None:
    assert address_key(None, None, "High Street", None) is None
    assert address_key("", " ", "High Street", "not a postcode") is None
    assert address_key(None, None, None, None) is None


@pytest.mark.parametrize(
    "name",
    [
        "Smith & Sons Ltd",
        "Smith and Sons Limited",
        "The Smith & Sons Co. Ltd.",
        "SMITH AND SONS PLC",
        "smith & sons llp",
        "Smith and Sons",
    ],
)
def test_organisation_key_equal(name: str) -> None:
    assert organisation_key(name) == "SMITH AND SONS"


def test_organisation_key_other() -> None:
    assert organisation_key("Acme Corp") == organisation_key("ACME Inc.") == "ACME"
    assert organisation_key("Smith & Co Ltd") == "SMITH"
    assert organisation_key("The Company") == "COMPANY"  # never stripped to nothing
    assert organisation_key("Ltd") == "LTD"
    assert organisation_key("The") == "THE"
    assert organisation_key("Théâtre Royal") == "THEATRE ROYAL"
    assert organisation_key("") is None
    assert organisation_key("&") == "AND"
    assert organisation_key(" - ") is None
    assert organisation_key(None) is None


def test_identifier() -> None:
    assert identifier("pnc_id", "01/123456F") == "2001/0123456F"
    assert identifier("pnc_id", " 2001/0123456f ") == "2001/0123456F"
    assert identifier("pnc_id", "2001/0123456X") == "20010123456X"  # wrong check letter: compacted only
    assert identifier("ni_number", "ab 12 34 56 c") == "AB123456C"
    assert identifier("ni_number", "AB-123456-C") == "AB123456C"
    assert identifier("passport_number", "12345 6789") == "123456789"
    assert identifier("driving_licence", "morga 753116 sm9ij") == "MORGA753116SM9IJ"
    assert identifier("driving_licence", "MORGA753116SM9IJ 35") == "MORGA753116SM9IJ"
    assert identifier("cro_number", "1234/95K") == identifier("cro_number", "001234/95K")
    assert identifier("cro_number", "12/34 5") == "12345"
    for kind in ["pnc_id", "ni_number", "passport_number", "driving_licence", "cro_number"]:
        assert identifier(kind, "") is None
        assert identifier(kind, None) is None
        assert identifier(kind, " / ") is None


# ---------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------

_KEY = re.compile(r"[A-Z0-9]*")
_M_APOSTROPHE = re.compile(r"M['`\u2018\u2019\u02bc]", re.IGNORECASE)
ANY_TEXT = st.text(max_size=60) | st.text(alphabet="aeéMcO'- &/.0123456789\x00", max_size=30)

_IDENTIFIER_KINDS = ["pnc_id", "ni_number", "passport_number", "driving_licence", "cro_number", "other"]


def _everything(text: str) -> None:
    folded = fold(text)
    assert folded == folded.strip() and "  " not in folded and _KEY.fullmatch(folded.replace(" ", ""))
    name_tokens(text)
    forename_key(text)
    forename_tokens(text)
    for key in [surname_key(text), *surname_parts(text), phonetic(text), *nickname_roots(text)]:
        assert key is None or (key and _KEY.fullmatch(key))
    date = parse_date(text)
    if date is not None:
        date.matchable()
        swapped(date)
        assert parse_date(date.iso()) == date
    vrm(text)
    vin(text)
    postcode(text)
    postcode_sector(text)
    postcode_district(text)
    phone(text)
    phone(text, region="US")
    email(text)
    address_key(text, text, text, text)
    organisation_key(text)
    for kind in _IDENTIFIER_KINDS:
        identifier(kind, text)


@PROPERTY
@given(ANY_TEXT)
def test_nothing_raises_on_any_text(text: str) -> None:
    _everything(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", "\x00", "\x00" * 50, "😀" * 20, "a" * 10_000, "é" * 10_000, "1/" * 5000, "+" + "4" * 9999],
)
def test_nothing_raises_on_odd_text(text: str) -> None:
    _everything(text)


@PROPERTY
@given(ANY_TEXT)
def test_fold_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@PROPERTY
@given(ANY_TEXT)
def test_surname_key_ignores_folding(text: str) -> None:
    # The one exception: "M'Donald" -> MACDONALD needs the apostrophe, which fold removes ("MDONALD").
    assume(not _M_APOSTROPHE.search(text))
    assert surname_key(fold(text)) == surname_key(text)
    assert surname_parts(fold(text)) == surname_parts(text)


@PROPERTY
@given(st.dates(min_value=datetime.date(1800, 1, 1), max_value=datetime.date(2199, 12, 31)))
def test_parse_date_round_trips(value: datetime.date) -> None:
    parsed = parse_date(value.isoformat())
    assert parsed == PartialDate(value.year, value.month, value.day, value.day == 1 and value.month == 1)
    assert parse_date(parsed.iso()) == parsed
    assert parse_date(value.strftime("%d/%m/%Y")) == parsed
    assert parse_date(value.strftime("%Y%m%d")) == parsed
    month = PartialDate(value.year, value.month)
    assert parse_date(month.iso()) == month
    assert parse_date(PartialDate(value.year).iso()) == PartialDate(value.year)
    if (flipped := swapped(parsed)) is not None:
        assert swapped(flipped) == parsed
