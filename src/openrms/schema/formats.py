"""Check and normalise the UK police identifier formats that OpenRMS stores.

Every identifier has one canonical stored form (upper case, fixed padding, fixed punctuation), so two records
that hold the same PNC ID, postcode or phone number hold the *same string*, and exact-match search and
de-duplication work without per-query fuzziness. Each `normalise_<name>(value)` returns that canonical form
or raises `FormatError` with a message that says what was expected and what was wrong, so that the person
keying the value (or the owner of an import file) can fix it.

The functions are pure (no I/O, no code lists) and idempotent: normalising a canonical value returns it
unchanged.
"""

from __future__ import annotations

import calendar
import re
import unicodedata

import phonenumbers

__all__ = [
    "FormatError",
    "cro_check_letter",
    "driving_licence_birth_facts",
    "normalise_collar_number",
    "normalise_cro_number",
    "normalise_driving_licence",
    "normalise_email",
    "normalise_ho_class",
    "normalise_ni_number",
    "normalise_offence_code",
    "normalise_passport_number",
    "normalise_person_name",
    "normalise_phone",
    "normalise_pnc_id",
    "normalise_postcode",
    "normalise_uprn",
    "normalise_vin",
    "normalise_vrm",
    "pnc_check_letter",
    "postcode_area",
    "postcode_district",
    "postcode_sector",
]


class FormatError(ValueError):
    """A value does not have the expected identifier format; the message says what and why."""


# ---------------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------------

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _show(value: str, limit: int = 40) -> str:
    """Quote a user-supplied value for a message, shortened so a pasted essay does not flood the log."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return repr(value)


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise FormatError(f"{what} must be text, not {type(value).__name__}")
    return value


def _compact_upper(value: object, what: str, example: str) -> str:
    """Strip, remove all white space and upper-case an identifier made of plain (ASCII) characters.

    Non-ASCII characters are refused *before* upper-casing, so that e.g. 'ß' is not silently turned into 'SS'.
    """
    raw = _require_text(value, what)
    text = "".join(raw.split())
    if not text:
        raise FormatError(f"{what} is empty; expected e.g. {example!r}")
    for char in text:
        if not char.isascii():
            raise FormatError(
                f"{what} {_show(raw.strip())} contains {char!r}, which is not a plain letter "
                f"or digit; expected e.g. {example!r}"
            )
    return text.upper()


def _first_outside(text: str, allowed: frozenset[str]) -> tuple[int, str] | None:
    """The 1-based position and character of the first character of `text` not in `allowed`, if any."""
    for position, char in enumerate(text, start=1):
        if char not in allowed:
            return position, char
    return None


def _require_alnum(text: str, what: str) -> None:
    bad = _first_outside(text, _ALNUM)
    if bad:
        position, char = bad
        raise FormatError(
            f"{what} {text!r} contains {char!r} at position {position}; only letters and digits are allowed"
        )


# The 23 letters A-Z without I, O and S, indexed by the remainder mod 23 (0 -> Z, 1 -> A, ... 22 -> Y).
_CHECK_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def _mod23_letter(digits: str) -> str:
    return _CHECK_LETTERS[int(digits) % 23]


# ---------------------------------------------------------------------------------------------------------
# PNC ID: YYYY/NNNNNNND
# ---------------------------------------------------------------------------------------------------------

_PNC_EXAMPLE = "2001/0123456F"
_PNC_BODY = re.compile(r"(?P<year>[0-9]*)/(?P<serial>[0-9]*)(?P<letter>[A-Z]?)")


def pnc_check_letter(year: int, serial: int) -> str:
    """Check letter of a PNC ID: (last two digits of year, then 7-digit serial) mod 23 in the letter table."""
    if not 0 <= year <= 9999:
        raise FormatError(f"PNC ID year should be 0-9999, not {year}")
    if not 0 <= serial <= 9_999_999:
        raise FormatError(f"PNC ID serial should be 0-9999999 (at most 7 digits), not {serial}")
    return _mod23_letter(f"{year % 100:02d}{serial:07d}")


def _pnc_year(year_text: str, shown: str) -> int:
    if len(year_text) == 2:
        short = int(year_text)
        return 2000 + short if short <= 29 else 1900 + short
    if len(year_text) == 4:
        year = int(year_text)
        if not 1900 <= year <= 2099:
            raise FormatError(f"PNC ID {shown} has year {year}; expected a year from 1900 to 2099")
        return year
    if not year_text:
        raise FormatError(f"PNC ID {shown} has no year before the '/'; expected e.g. {_PNC_EXAMPLE!r}")
    raise FormatError(
        f"PNC ID {shown} has year {year_text!r}; expected 4 digits (or 2), e.g. {_PNC_EXAMPLE!r}"
    )


def normalise_pnc_id(value: str) -> str:
    """PNC ID as `YYYY/NNNNNNND`; also accepts a 2-digit year and a serial of fewer than 7 digits."""
    text = _compact_upper(value, "PNC ID", _PNC_EXAMPLE)
    shown = _show(text)
    if text.count("/") != 1:
        raise FormatError(
            f"PNC ID {shown} should have one '/' between year and serial, e.g. {_PNC_EXAMPLE!r}"
        )
    match = _PNC_BODY.fullmatch(text)
    if not match:
        raise FormatError(
            f"PNC ID {shown} should be year, '/', serial digits and one check letter, e.g. {_PNC_EXAMPLE!r}"
        )
    year = _pnc_year(match["year"], shown)
    serial_text, letter = match["serial"], match["letter"]
    if not serial_text:
        raise FormatError(
            f"PNC ID {shown} has no serial number after the '/'; expected e.g. {_PNC_EXAMPLE!r}"
        )
    if len(serial_text) > 7:
        raise FormatError(f"PNC ID {shown} has a serial of {len(serial_text)} digits; expected at most 7")
    serial = int(serial_text)
    expected = pnc_check_letter(year, serial)
    canonical = f"{year:04d}/{serial:07d}"
    if not letter:
        raise FormatError(f"PNC ID {shown} has no check letter; expected {canonical + expected!r}")
    if letter != expected:
        raise FormatError(f"PNC ID check letter should be {expected!r} for {canonical!r}, not {letter!r}")
    return canonical + letter


# ---------------------------------------------------------------------------------------------------------
# CRO number: NNNNNN/YYD or SF YY/NNNNNND
# ---------------------------------------------------------------------------------------------------------

_CRO_EXAMPLE = "123456/95K"
_CRO_SF_EXAMPLE = "SF 95/123456K"
_CRO_MAIN = re.compile(r"(?P<serial>[0-9]{1,6})/(?P<year>[0-9]{2})(?P<letter>[A-Z]?)")
_CRO_SF = re.compile(r"SF(?P<year>[0-9]{2})/(?P<serial>[0-9]{1,6})(?P<letter>[A-Z]?)")


def cro_check_letter(year2: int, serial: int) -> str:
    """Check letter of a CRO number: (2-digit year, then 6-digit serial) mod 23 in the letter table."""
    if not 0 <= year2 <= 99:
        raise FormatError(f"CRO year should be a 2-digit year 0-99, not {year2}")
    if not 0 <= serial <= 999_999:
        raise FormatError(f"CRO serial should be 0-999999 (at most 6 digits), not {serial}")
    return _mod23_letter(f"{year2:02d}{serial:06d}")


def _cro_letter(shown: str, canonical: str, year2: int, serial: int, letter: str) -> str:
    expected = cro_check_letter(year2, serial)
    if not letter:
        raise FormatError(f"CRO number {shown} has no check letter; expected {canonical + expected!r}")
    if letter != expected:
        raise FormatError(f"CRO number check letter should be {expected!r} for {canonical!r}, not {letter!r}")
    return letter


def normalise_cro_number(value: str) -> str:
    """CRO number as `NNNNNN/YYD`, or the fingerprint-only form `SF YY/NNNNNND`."""
    text = _compact_upper(value, "CRO number", _CRO_EXAMPLE)
    shown = _show(text)
    if text.startswith("SF"):
        match = _CRO_SF.fullmatch(text)
        if not match:
            raise FormatError(
                f"fingerprint-only CRO number {shown} should be 'SF', 2-digit year, '/', "
                f"1-6 serial digits and a check letter, e.g. {_CRO_SF_EXAMPLE!r}"
            )
        year2, serial = int(match["year"]), int(match["serial"])
        canonical = f"SF {year2:02d}/{serial:06d}"
    else:
        match = _CRO_MAIN.fullmatch(text)
        if not match:
            raise FormatError(
                f"CRO number {shown} should be 1-6 serial digits, '/', 2-digit year and a "
                f"check letter, e.g. {_CRO_EXAMPLE!r} (or {_CRO_SF_EXAMPLE!r})"
            )
        year2, serial = int(match["year"]), int(match["serial"])
        canonical = f"{serial:06d}/{year2:02d}"
    return canonical + _cro_letter(shown, canonical, year2, serial, match["letter"])


# ---------------------------------------------------------------------------------------------------------
# National Insurance number: AB123456C
# ---------------------------------------------------------------------------------------------------------

_NI_EXAMPLE = "AB123456C"
_NI_BAD_FIRST = "DFIQUV"
_NI_BAD_SECOND = "DFIOQUV"
_NI_UNALLOCATED = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
_NI_SUFFIXES = "ABCD"


def _check_ni_prefix(prefix: str, shown: str) -> None:
    if not (prefix[0] in _LETTERS and prefix[1] in _LETTERS):
        raise FormatError(
            f"NI number {shown} should start with two letters, not {prefix!r}; expected e.g. {_NI_EXAMPLE!r}"
        )
    if prefix[0] in _NI_BAD_FIRST:
        raise FormatError(
            f"NI number {shown} cannot start with {prefix[0]!r}: "
            f"{', '.join(_NI_BAD_FIRST)} are never used as the first letter"
        )
    if prefix[1] in _NI_BAD_SECOND:
        raise FormatError(
            f"NI number {shown} cannot have {prefix[1]!r} as its second letter: "
            f"{', '.join(_NI_BAD_SECOND)} are never used there"
        )
    if prefix in _NI_UNALLOCATED:
        raise FormatError(
            f"NI number {shown} has prefix {prefix!r}, which is never allocated "
            f"({', '.join(_NI_UNALLOCATED)} are not used)"
        )


def normalise_ni_number(value: str) -> str:
    """National Insurance number as 9 characters without spaces, e.g. `AB123456C`."""
    text = _compact_upper(value, "NI number", _NI_EXAMPLE)
    shown = _show(text)
    if len(text) == 8 and set(text[2:]) <= _DIGITS:
        _check_ni_prefix(text[:2], shown)
        raise FormatError(
            f"NI number {shown} has no suffix letter; expected A, B, C or D at the end, e.g. {text + 'C'!r}"
        )
    if len(text) != 9:
        raise FormatError(
            f"NI number {shown} has {len(text)} characters; expected 9 "
            f"(2 letters, 6 digits, 1 letter), e.g. {_NI_EXAMPLE!r}"
        )
    _check_ni_prefix(text[:2], shown)
    if not set(text[2:8]) <= _DIGITS:
        raise FormatError(f"NI number {shown} should have six digits after the prefix, not {text[2:8]!r}")
    if text[8] not in _NI_SUFFIXES:
        raise FormatError(f"NI number {shown} has suffix {text[8]!r}; expected A, B, C or D")
    return text


# ---------------------------------------------------------------------------------------------------------
# Passport, VRM, collar number, UPRN: simple alphanumeric identifiers
# ---------------------------------------------------------------------------------------------------------


def _check_length(text: str, what: str, low: int, high: int) -> None:
    if not low <= len(text) <= high:
        limit = f"{low}-{high}" if low != high else str(low)
        raise FormatError(f"{what} {_show(text)} has {len(text)} characters; expected {limit}")


def normalise_passport_number(value: str) -> str:
    """Passport number: 5-20 letters and digits (UK passports are 9 digits), upper case, no spaces."""
    text = _compact_upper(value, "passport number", "123456789")
    _require_alnum(text, "passport number")
    _check_length(text, "passport number", 5, 20)
    return text


def normalise_vrm(value: str) -> str:
    """Vehicle registration mark: 1-11 letters and digits, without spaces or hyphens, upper case.

    Any style is accepted (foreign, cherished and dateless plates exist), so no GB pattern is enforced.
    """
    text = _compact_upper(value, "vehicle registration", "AB12CDE").replace("-", "")
    if not text:
        raise FormatError("vehicle registration has no letters or digits; expected e.g. 'AB12CDE'")
    _require_alnum(text, "vehicle registration")
    _check_length(text, "vehicle registration", 1, 11)
    return text


def normalise_collar_number(value: str) -> str:
    """Officer collar (shoulder) number: up to 10 letters and digits, upper case, no spaces."""
    text = _compact_upper(value, "collar number", "4321")
    _require_alnum(text, "collar number")
    _check_length(text, "collar number", 1, 10)
    return text


def normalise_uprn(value: str) -> str:
    """Unique Property Reference Number: 1-12 digits, stored without leading zeros."""
    text = _compact_upper(value, "UPRN", "100023336956")
    bad = _first_outside(text, _DIGITS)
    if bad:
        raise FormatError(
            f"UPRN {_show(text)} contains {bad[1]!r}; a UPRN is digits only, e.g. '100023336956'"
        )
    significant = text.lstrip("0")
    if not significant:
        raise FormatError(f"UPRN {_show(text)} is zero; a UPRN is a positive number of 1-12 digits")
    if len(significant) > 12:
        raise FormatError(f"UPRN {_show(text)} has {len(significant)} digits; expected at most 12")
    return significant


# ---------------------------------------------------------------------------------------------------------
# GB driving licence number
# ---------------------------------------------------------------------------------------------------------

_DL_EXAMPLE = "MORGA753116SM9IJ"
_DL_SURNAME = re.compile(r"[A-Z]+9*")  # letters, then '9' padding
_DL_INITIALS = re.compile(r"[A-Z]*9*")


def _dl_birth(digits: str, shown: str) -> tuple[int, int, int, str]:
    """Decode characters 6-11: (2-digit year, month, day, sex) or raise."""
    if not set(digits) <= _DIGITS:
        raise FormatError(
            f"driving licence number {shown} should have 6 digits (date of birth) at "
            f"characters 6-11, not {digits!r}"
        )
    month, day = int(digits[1:3]), int(digits[3:5])
    sex = "F" if month > 50 else "M"
    if sex == "F":
        month -= 50
    if not 1 <= month <= 12:
        raise FormatError(
            f"driving licence number {shown} has birth month {digits[1:3]!r} at characters "
            "7-8; expected 01-12, or 51-62 for women"
        )
    longest = calendar.monthrange(2000, month)[1]  # 2000 is a leap year: 29 February is allowed
    if not 1 <= day <= longest:
        raise FormatError(
            f"driving licence number {shown} has birth day {digits[3:5]!r} at characters "
            f"9-10; month {month} has days 01-{longest}"
        )
    return int(digits[0] + digits[5]), month, day, sex


def _check_dl_parts(text: str, shown: str) -> None:
    if not _DL_SURNAME.fullmatch(text[:5]):
        raise FormatError(
            f"driving licence number {shown} should start with the first 5 letters of the "
            f"surname padded with '9' (e.g. 'SMITH' or 'LEE99'), not {text[:5]!r}"
        )
    _dl_birth(text[5:11], shown)
    if not _DL_INITIALS.fullmatch(text[11:13]):
        raise FormatError(
            f"driving licence number {shown} should have two initials padded with '9' at "
            f"characters 12-13 (e.g. 'JA' or 'J9'), not {text[11:13]!r}"
        )
    if text[13] not in _DIGITS:
        raise FormatError(
            f"driving licence number {shown} should have a digit at character 14, not {text[13]!r}"
        )
    if not set(text[14:]) <= _LETTERS:
        raise FormatError(
            f"driving licence number {shown} should end with two check letters at "
            f"characters 15-16, not {text[14:]!r}"
        )


def normalise_driving_licence(value: str) -> str:
    """GB driving licence number: 16 characters, upper case, no spaces, e.g. `MORGA753116SM9IJ`."""
    text = _compact_upper(value, "driving licence number", _DL_EXAMPLE)
    shown = _show(text)
    if len(text) == 18 and set(text[16:]) <= _DIGITS:
        raise FormatError(
            f"driving licence number {shown} has 18 characters; the last two look like the "
            f"issue number: store only the first 16 ({text[:16]!r})"
        )
    if len(text) != 16:
        raise FormatError(
            f"driving licence number {shown} has {len(text)} characters; expected 16, e.g. {_DL_EXAMPLE!r}"
        )
    _check_dl_parts(text, shown)
    return text


def driving_licence_birth_facts(licence: str) -> tuple[int, int, int, str]:
    """(2-digit birth year, month 1-12, day, 'F' or 'M') encoded in a GB driving licence number."""
    text = normalise_driving_licence(licence)
    return _dl_birth(text[5:11], _show(text))


# ---------------------------------------------------------------------------------------------------------
# VIN
# ---------------------------------------------------------------------------------------------------------

_VIN_EXAMPLE = "1HGCM82633A004352"
_VIN_LOOKALIKES = {"I": "1", "O": "0", "Q": "0"}


def normalise_vin(value: str) -> str:
    """Vehicle identification number: 17 letters and digits, never I, O or Q; upper case, no spaces."""
    text = _compact_upper(value, "VIN", _VIN_EXAMPLE)
    for position, char in enumerate(text, start=1):
        if char in _VIN_LOOKALIKES:
            raise FormatError(
                f"VIN {_show(text)} contains {char!r} at position {position}; the letters I, O "
                f"and Q are never used in a VIN (did you mean {_VIN_LOOKALIKES[char]!r}?)"
            )
    _require_alnum(text, "VIN")
    if len(text) != 17:
        raise FormatError(f"VIN {_show(text)} has {len(text)} characters; expected 17, e.g. {_VIN_EXAMPLE!r}")
    return text


# ---------------------------------------------------------------------------------------------------------
# Postcode
# ---------------------------------------------------------------------------------------------------------

_POSTCODE_EXAMPLE = "LS1 4AP"
_OUTWARD = re.compile(r"[A-Z]{1,2}[0-9]{1,2}|[A-Z]{1,2}[0-9][A-Z]")  # A9 A99 AA9 AA99 A9A AA9A
_INWARD_EXCLUDED = "CIKMOV"
_GIRO = "GIR0AA"


def _check_inward(inward: str, shown: str) -> None:
    if inward[0] not in _DIGITS:
        raise FormatError(
            f"postcode {shown} has inward code {inward!r}, which should start with a digit; "
            f"expected e.g. {_POSTCODE_EXAMPLE!r}"
        )
    for char in inward[1:]:
        if char not in _LETTERS:
            raise FormatError(
                f"postcode {shown} has inward code {inward!r}, which should end with two "
                f"letters; expected e.g. {_POSTCODE_EXAMPLE!r}"
            )
        if char in _INWARD_EXCLUDED:
            raise FormatError(
                f"postcode {shown} has {char!r} in its inward code {inward!r}; the letters "
                f"{', '.join(_INWARD_EXCLUDED)} are never used there"
            )


def _check_outward(outward: str, shown: str) -> None:
    if not _OUTWARD.fullmatch(outward):
        raise FormatError(
            f"postcode {shown} has outward code {outward!r}, which fits none of the patterns "
            "A9, A99, AA9, AA99, A9A, AA9A (e.g. 'M1', 'B33', 'LS1', 'DN55', 'W1A', 'EC1A')"
        )


def normalise_postcode(value: str) -> str:
    """UK postcode, upper case with one space between outward and inward code, e.g. `LS1 4AP`."""
    text = _compact_upper(value, "postcode", _POSTCODE_EXAMPLE)
    shown = _show(" ".join(value.split()).upper())
    bad = _first_outside(text, _ALNUM)
    if bad:
        raise FormatError(
            f"postcode {shown} contains {bad[1]!r}; only letters, digits and one space are allowed"
        )
    if text == _GIRO:
        return "GIR 0AA"
    if len(text) < 5:
        if _OUTWARD.fullmatch(text) or (_OUTWARD.fullmatch(text[:-1]) and text[-1] in _DIGITS):
            raise FormatError(f"postcode {shown} has no inward code; expected e.g. {_POSTCODE_EXAMPLE!r}")
        raise FormatError(
            f"postcode {shown} is too short; expected an outward and an inward code, "
            f"e.g. {_POSTCODE_EXAMPLE!r}"
        )
    if len(text) > 7:
        raise FormatError(
            f"postcode {shown} is too long: {len(text)} letters and digits, expected 5-7, "
            f"e.g. {_POSTCODE_EXAMPLE!r}"
        )
    outward, inward = text[:-3], text[-3:]
    _check_inward(inward, shown)
    _check_outward(outward, shown)
    return f"{outward} {inward}"


def postcode_district(postcode: str) -> str:
    """Outward code (postcode district): 'LS1 4AP' -> 'LS1'."""
    return normalise_postcode(postcode).split(" ")[0]


def postcode_sector(postcode: str) -> str:
    """Postcode sector (outward code and the inward digit): 'LS1 4AP' -> 'LS1 4'."""
    return normalise_postcode(postcode)[:-2]


def postcode_area(postcode: str) -> str:
    """Postcode area (the leading letters): 'LS1 4AP' -> 'LS'."""
    district = postcode_district(postcode)
    return district[: len(district) - len(district.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]


# ---------------------------------------------------------------------------------------------------------
# Home Office crime classification and CJS offence code
# ---------------------------------------------------------------------------------------------------------

_HO_CLASS = re.compile(r"[0-9]{3}/[0-9]{2}")
_HO_EXAMPLE = "028/01"


def normalise_ho_class(value: str) -> str:
    """Home Office crime classification as `NNN/NN` (3 digits, '/', 2 digits); `NNNNN` gets the slash."""
    text = _compact_upper(value, "Home Office class", _HO_EXAMPLE)
    if len(text) == 5 and set(text) <= _DIGITS:
        return f"{text[:3]}/{text[3:]}"
    if _HO_CLASS.fullmatch(text):
        return text
    shown = _show(text)
    bad = _first_outside(text, _DIGITS | {"/"})
    if bad:
        raise FormatError(
            f"Home Office class {shown} contains {bad[1]!r}; expected 3 digits, '/', "
            f"2 digits, e.g. {_HO_EXAMPLE!r}"
        )
    if text.count("/") == 1:
        major, minor = text.split("/")
        raise FormatError(
            f"Home Office class {shown} has {len(major)} digit(s) before the '/' and "
            f"{len(minor)} after; expected 3 and 2 with leading zeros, e.g. {_HO_EXAMPLE!r}"
        )
    raise FormatError(
        f"Home Office class {shown} should be 3 digits, '/', 2 digits (or 5 digits), e.g. {_HO_EXAMPLE!r}"
    )


_OFFENCE_EXAMPLE = "TH68010"
_OFFENCE_QUALIFIERS = "ABCI"  # attempt, aid/abet, conspiracy, incite


def normalise_offence_code(value: str) -> str:
    """CJS offence code `AAYYNNN` plus optional qualifier A, B, C or I, e.g. `MD71101`, `TH68010A`."""
    text = _compact_upper(value, "offence code", _OFFENCE_EXAMPLE)
    shown = _show(text)
    if len(text) not in (7, 8):
        raise FormatError(
            f"offence code {shown} has {len(text)} characters; expected 7 (2 letters, "
            f"5 digits) or 8 with a qualifier letter, e.g. {_OFFENCE_EXAMPLE!r}"
        )
    if not set(text[:2]) <= _LETTERS:
        raise FormatError(f"offence code {shown} should start with two letters, not {text[:2]!r}")
    if not set(text[2:7]) <= _DIGITS:
        raise FormatError(
            f"offence code {shown} should have five digits after the letters, not {text[2:7]!r}"
        )
    if len(text) == 8 and text[7] not in _OFFENCE_QUALIFIERS:
        raise FormatError(
            f"offence code {shown} ends with {text[7]!r}; the qualifier must be A (attempt), "
            "B (aid/abet), C (conspiracy) or I (incite)"
        )
    return text


# ---------------------------------------------------------------------------------------------------------
# Phone and e-mail
# ---------------------------------------------------------------------------------------------------------

_PARSE_PROBLEMS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "its country code is not recognised",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "it does not look like a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "it is too short",
    phonenumbers.NumberParseException.TOO_LONG: "it is too long",
}
_POSSIBLE_PROBLEMS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country code is not recognised",
    phonenumbers.ValidationResult.TOO_SHORT: "it has too few digits",
    phonenumbers.ValidationResult.TOO_LONG: "it has too many digits",
    phonenumbers.ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}


# A UK number with a 10-digit national number is always a possible GB number; most numbers police record
# are, and parsing them by hand is ~50 times faster than phonenumbers.parse (imports check millions).
_UK_TEN_DIGITS = re.compile(r"(?:\+44|0044|0)([1-9]\d{9})")
_PHONE_PUNCTUATION = str.maketrans("", "", " -().")


def normalise_phone(value: str) -> str:
    """Phone number in any written form (UK by default) as E.164, e.g. '0113 234 5678' -> '+441132345678'."""
    text = _require_text(value, "phone number").strip()
    if plain := _UK_TEN_DIGITS.fullmatch(text.replace("(0)", "").translate(_PHONE_PUNCTUATION)):
        return "+44" + plain.group(1)
    if not text:
        raise FormatError("phone number is empty; expected e.g. '0113 234 5678' or '+44 113 234 5678'")
    shown = _show(text)
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException as exc:
        problem = _PARSE_PROBLEMS.get(exc.error_type, "it could not be read")
        raise FormatError(f"phone number {shown} is not a phone number: {problem}") from None
    if not phonenumbers.is_possible_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        problem = _POSSIBLE_PROBLEMS.get(reason, "it is not a possible number")
        raise FormatError(f"phone number {shown} is not a possible number: {problem}")
    if number.extension:
        raise FormatError(
            f"phone number {shown} has extension {number.extension!r}, which E.164 cannot "
            "hold; store the number without it and put the extension elsewhere"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EMAIL_EXAMPLE = "name@example.org"


def normalise_email(value: str) -> str:
    """E-mail address `local@domain`, stripped, domain lower-cased (the local part keeps its case)."""
    text = _require_text(value, "email address").strip()
    if not text:
        raise FormatError(f"email address is empty; expected e.g. {_EMAIL_EXAMPLE!r}")
    shown = _show(text)
    space = next((char for char in text if char.isspace()), None)
    if space is not None:
        raise FormatError(f"email address {shown} contains white space ({space!r}); an address has none")
    ats = text.count("@")
    if ats != 1:
        found = "no '@'" if ats == 0 else f"{ats} '@' signs"
        raise FormatError(f"email address {shown} has {found}; expected exactly one, e.g. {_EMAIL_EXAMPLE!r}")
    local, domain = text.split("@")
    if not local:
        raise FormatError(
            f"email address {shown} has nothing before the '@'; expected e.g. {_EMAIL_EXAMPLE!r}"
        )
    if not domain:
        raise FormatError(
            f"email address {shown} has no domain after the '@'; expected e.g. {_EMAIL_EXAMPLE!r}"
        )
    if "." not in domain:
        raise FormatError(
            f"email address {shown} has domain {domain!r} without a dot; expected e.g. 'example.org'"
        )
    if "" in domain.split("."):
        raise FormatError(
            f"email address {shown} has domain {domain!r} with an empty part "
            "(a leading, trailing or doubled dot)"
        )
    return f"{local}@{domain.lower()}"


# ---------------------------------------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------------------------------------

_NAME_MAX = 100
_NAME_PUNCTUATION = frozenset(" -'")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "rev", "sir", "lady", "lord", "prof", "mx", "dame"})


def _check_title(words: list[str], shown: str) -> None:
    """Refuse a leading title ('Mr John'); a name that is only the word ('Lord', a surname) is fine."""
    if len(words) > 1 and words[0].rstrip(".").casefold() in _TITLES:
        raise FormatError(
            f"name {shown} starts with the title {words[0]!r}; put titles in the title field, not in the name"
        )


def _check_name_characters(text: str, shown: str) -> None:
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "N":
            raise FormatError(f"name {shown} contains the digit {char!r}; names cannot contain digits")
        if category[0] not in "LM" and char not in _NAME_PUNCTUATION:
            raise FormatError(
                f"name {shown} contains {char!r}; only letters, spaces, hyphens and apostrophes are allowed"
            )
    if not any(unicodedata.category(char)[0] == "L" for char in text):
        raise FormatError(f"name {shown} contains no letters")


# Most names are plain ASCII words; they take this fast path (bulk imports validate millions of names).
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z'-]*(?: [A-Za-z'-]+)*")


def normalise_person_name(value: str) -> str:
    """Forename(s) or surname: white space collapsed, case kept, letters of any alphabet, ' and - allowed.

    Text is put in Unicode NFC so that 'é' typed as one character or as 'e' plus an accent compare equal,
    and the typographic apostrophe ’ is stored as '.
    """
    plain = type(value) is str and len(value) <= _NAME_MAX and _PLAIN_NAME.fullmatch(value)
    if plain and (" " not in value or value.split(" ", 1)[0].casefold() not in _TITLES):
        return value
    text = unicodedata.normalize("NFC", _require_text(value, "name"))
    text = " ".join(text.split()).replace("\u2019", "'")
    if not text:
        raise FormatError("name is empty; expected e.g. 'Mary-Jane' or \"O'Brien\"")
    shown = _show(text)
    if len(text) > _NAME_MAX:
        raise FormatError(f"name {shown} has {len(text)} characters; at most {_NAME_MAX} are allowed")
    _check_title(text.split(" "), shown)
    _check_name_characters(text, shown)
    return text
