"""Normalise names, dates, identifiers, contact details and addresses into keys for matching.

Matching (blocking keys, match features, real-time resolution, batch resolution) compares *keys*, not the
values people typed: "José O'Brien-Smith", "JOSE OBRIEN SMITH" and "Jose O Brien Smith" must give the same
surname key, "0113 496 0000" and "+44 (0)113 496 0000" the same phone. Every function here is pure (no I/O,
no database), returns upper-case ASCII keys (e-mail addresses are lower case, phones E.164), and returns
None (or an empty list or tuple) for input it cannot use. None of them raises on any text, however odd:
they run on every write and over millions of records in batch, so one bad value must never stop a run.

Where `openrms.schema.formats` already parses a format (postcode, phone, e-mail, VIN, PNC ID, CRO number)
this module calls it and turns its `FormatError` into None: the stored canonical form and the match key are
then the same string.

Speed: these run per record on the hot path. Regexes are compiled once, the ASCII common case of `fold`
skips Unicode decomposition, the nickname table is built once on first use, and the functions whose inputs
repeat (names, postcodes, phones) are cached with `functools.lru_cache` (bounded, thread-safe). Functions
that return lists build them from a cached tuple, so callers may modify what they get.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

import jellyfish
import phonenumbers
from nicknames import NickNamer

from openrms.schema.formats import (
    normalise_cro_number,
    normalise_email,
    normalise_phone,
    normalise_pnc_id,
    normalise_postcode,
    normalise_vin,
)

__all__ = [
    "PartialDate",
    "address_key",
    "email",
    "fold",
    "forename_key",
    "forename_tokens",
    "identifier",
    "name_tokens",
    "nickname_roots",
    "organisation_key",
    "parse_date",
    "phone",
    "phonetic",
    "postcode",
    "postcode_district",
    "postcode_sector",
    "surname_key",
    "surname_parts",
    "swapped",
    "vin",
    "vrm",
]

# Large enough to hold the common names of a force's data; each entry is a few hundred bytes.
_CACHE_SIZE = 1 << 16


def _text(value: object) -> str:
    """A parameter as text: None -> '', a number (a building number given as int) -> its str."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


# ---------------------------------------------------------------------------------------------------------
# fold: accents off, upper case, punctuation to single spaces
# ---------------------------------------------------------------------------------------------------------

_APOSTROPHES = "'`\u2018\u2019\u02bc\u02bb\u00b4\u2032"
# Letters that NFKD does not decompose into a base letter and a combining mark.
_LETTER_FOLDS = {
    "ß": "SS",
    "ẞ": "SS",
    "Æ": "AE",
    "æ": "AE",
    "Œ": "OE",
    "œ": "OE",
    "Ø": "O",
    "ø": "O",
    "Ł": "L",
    "ł": "L",
    "Đ": "D",
    "đ": "D",
    "Ð": "D",
    "ð": "D",
    "Þ": "TH",
    "þ": "TH",
    "Ħ": "H",
    "ħ": "H",
    "Ŧ": "T",
    "ŧ": "T",
    "ı": "I",
    "ĸ": "K",
    "Ŋ": "NG",
    "ŋ": "NG",
}
_FOLD_TABLE = str.maketrans({**dict.fromkeys(_APOSTROPHES), **_LETTER_FOLDS})
_ASCII_APOSTROPHES = str.maketrans("", "", "'`")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def fold(text: str) -> str:
    """Upper-case ASCII letters and digits with single spaces: "Zoë O'Brien-Smith" -> 'ZOE OBRIEN SMITH'.

    Accents are dropped (NFKD without combining marks; ß -> SS, Æ -> AE, Ø -> O, Ł -> L...), apostrophes
    removed so "O'Brien" stays one word, and every other character that is not A-Z or 0-9 (hyphens,
    punctuation, letters of other alphabets, emoji) becomes a space. Idempotent.
    """
    if not text:
        return ""
    if text.isascii():
        upper = text.upper()
        if "'" in upper or "`" in upper:
            upper = upper.translate(_ASCII_APOSTROPHES)
    else:
        decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_TABLE))
        stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
        upper = stripped.upper().translate(_FOLD_TABLE)
    return _NOT_ALNUM.sub(" ", upper).strip()


# ---------------------------------------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------------------------------------

_TITLES = frozenset(
    {"MR", "MRS", "MS", "MISS", "MX", "DR", "PROF", "SIR", "REV", "REVD", "LORD", "LADY", "DAME"}
)
_SUFFIXES = frozenset({"JR", "JNR", "SR", "SNR", "II", "III", "IV"})


@lru_cache(maxsize=_CACHE_SIZE)
def _name_tokens(text: str) -> tuple[str, ...]:
    tokens = fold(text).split()
    start, end = 0, len(tokens)
    while end - start > 1 and tokens[start] in _TITLES:
        start += 1
    while end - start > 1 and tokens[end - 1] in _SUFFIXES:
        end -= 1
    return tuple(tokens[start:end])


def name_tokens(text: str | None) -> list[str]:
    """The folded words of a name, split on spaces and hyphens, without titles and generational suffixes.

    Titles (MR, MRS, DR, SIR, LORD...) are dropped from the start and suffixes (JR, SR, II, III, IV) from
    the end, but only while another word remains: 'Mr John Smith Jr' -> ['JOHN', 'SMITH'], yet a surname
    that *is* 'Lord' stays ['LORD'] and 'John Lord' keeps its surname.
    """
    return list(_name_tokens(text)) if text else []


# Words that belong to the following word of a surname: 'van der Berg' is one surname, not three.
_PARTICLES = frozenset(
    {
        "AL",
        "AP",
        "DA",
        "DAS",
        "DE",
        "DEI",
        "DEL",
        "DELA",
        "DELLA",
        "DELLE",
        "DEN",
        "DER",
        "DES",
        "DI",
        "DOS",
        "DU",
        "EL",
        "LA",
        "LE",
        "LO",
        "MAC",
        "MC",
        "NI",
        "NIC",
        "O",
        "SAINT",
        "ST",
        "TEN",
        "TER",
        "VAN",
        "VON",
    }
)
# "M'Donald" is the old written form of MacDonald. Not before B or V: M'Baye, M'Bala, M'Vila are other names.
_M_APOSTROPHE = re.compile(r"\bM['`\u2018\u2019\u02bc]\s*(?=[AC-UW-Z])", re.IGNORECASE)


@lru_cache(maxsize=_CACHE_SIZE)
def _surname_groups(text: str) -> tuple[str, ...]:
    """The surname's parts with particles joined on: 'Smith-van der Berg' -> ('SMITH', 'VANDERBERG')."""
    if "M" in text or "m" in text:
        text = _M_APOSTROPHE.sub("MAC", text)
    tokens = _name_tokens(text)
    groups: list[str] = []
    prefix = ""
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        if index < last and token in _PARTICLES:
            prefix += "ST" if token == "SAINT" else token
            continue
        word = prefix + token
        prefix = ""
        if word.startswith("MC") and len(word) > 2:
            word = "MAC" + word[2:]
        groups.append(word)
    return tuple(groups)


@lru_cache(maxsize=_CACHE_SIZE)
def surname_key(text: str | None) -> str | None:
    """The canonical surname, one word: McDonald, Mc Donald, M'Donald, MacDonald -> 'MACDONALD'.

    Particles join the next word (van der Berg -> VANDERBERG, De La Cruz -> DELACRUZ, St John / Saint John
    -> STJOHN), Mc becomes Mac (words that already start with MAC, such as MACE or MACHIN, are left alone),
    and the parts of a double-barrelled name are joined (Smith-Jones, 'Smith Jones' -> SMITHJONES).
    """
    if not text:
        return None
    return "".join(_surname_groups(text)) or None


def surname_parts(text: str | None) -> list[str]:
    """The whole surname key, then the key of each part: 'Smith-Jones' -> ['SMITHJONES', 'SMITH', 'JONES'].

    Lets a record that has only one half of a double-barrelled surname still find the other.
    """
    if not text:
        return []
    groups = _surname_groups(text)
    if not groups:
        return []
    parts = ["".join(groups)]
    if len(groups) > 1:
        for group in groups:
            if group not in parts:
                parts.append(group)
    return parts


def forename_tokens(text: str | None) -> list[str]:
    """Every forename, folded, without titles: 'Mary-Jane Ann' -> ['MARY', 'JANE', 'ANN']."""
    return name_tokens(text)


def forename_key(text: str | None) -> str | None:
    """The first forename, folded, after titles: 'Dr. José Luis' -> 'JOSE'."""
    if not text:
        return None
    tokens = _name_tokens(text)
    return tokens[0] if tokens else None


_MAX_ROOTS = 12


@cache
def _nicknamer() -> NickNamer:
    """The nicknames table, built once on first use (it ships with the package; no network)."""
    return NickNamer()


@lru_cache(maxsize=_CACHE_SIZE)
def nickname_roots(name: str | None) -> tuple[str, ...]:
    """The names this forename may be short for, and itself, sorted: BILL -> ('BILL', ..., 'WILLIAM', ...).

    Two forenames are nickname-compatible when their roots intersect (BILL and WILLIAM share WILLIAM).
    Uses the `nicknames` package's `canonicals_of`; for a name with several words, the first word. At most
    12 entries: the name itself and the first 11 others in alphabetical order.
    """
    if not name:
        return ()
    tokens = _name_tokens(name)
    if not tokens:
        return ()
    token = tokens[0]
    roots = {fold(canonical).replace(" ", "") for canonical in _nicknamer().canonicals_of(token.lower())}
    roots.discard(token)
    roots.discard("")
    return tuple(sorted([token, *sorted(roots)[: _MAX_ROOTS - 1]]))


_NOT_LETTER = re.compile(r"[^A-Z]+")


@lru_cache(maxsize=_CACHE_SIZE)
def phonetic(name: str | None) -> str | None:
    """Metaphone key of a name's letters (folded, spaces and digits dropped): SMITH, SMYTH -> 'SM0'.

    Also equal: JON/JOHN, CATHERINE/KATHRYN, STEPHEN/STEVEN. The key may contain '0', metaphone's 'TH'.
    """
    if not name:
        return None
    letters = _NOT_LETTER.sub("", fold(name))
    if not letters:
        return None
    return jellyfish.metaphone(letters) or None


# ---------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------

_MIN_YEAR = 1800
_MAX_YEAR = 2199
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_ISO_DATE = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_ISO_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_YEAR_ONLY = re.compile(r"[0-9]{4}")
_COMPACT_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_UK_DATE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date that may lack its day, or its month and day; `placeholder` marks a 01/01 'unknown' filler."""

    year: int | None
    month: int | None = None
    day: int | None = None
    placeholder: bool = False

    def matchable(self) -> PartialDate:
        """The date to match on: the year alone when the day and month are the 01/01 placeholder."""
        if self.placeholder:
            return PartialDate(self.year)
        return self

    def iso(self) -> str:
        """ISO 8601 text at the date's precision: '1985-07-03', '1985-07' or '1985' ('' without a year)."""
        if self.year is None:
            return ""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def _days_in(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month]


def _full_date(year: int, month: int, day: int) -> PartialDate | None:
    if not (_MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= 12 and 1 <= day <= _days_in(year, month)):
        return None
    return PartialDate(year, month, day, day == 1 and month == 1)


def _two_digit_year(short: int) -> int:
    """00 up to this year's two digits -> 20xx, anything later -> 19xx (a date of birth is not in future)."""
    return 2000 + short if short <= datetime.date.today().year % 100 else 1900 + short


def parse_date(value: str | None) -> PartialDate | None:
    """A full or partial date from ISO or UK writing; None if unreadable or impossible (31/02/1990).

    Accepts YYYY-MM-DD (optionally with a time after it), YYYY-MM, YYYY, YYYYMMDD, and day-first
    DD/MM/YYYY, D/M/YY, DD-MM-YYYY, DD.MM.YYYY. Years must be 1800-2199.
    """
    if not value:
        return None
    text = value.strip()
    if not 4 <= len(text) <= 40:
        return None
    if match := _ISO_DATE.fullmatch(text):
        return _full_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _UK_DATE.fullmatch(text):
        year_text = match[4]
        year = int(year_text) if len(year_text) == 4 else _two_digit_year(int(year_text))
        return _full_date(year, int(match[3]), int(match[1]))
    if match := _COMPACT_DATE.fullmatch(text):
        return _full_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _ISO_MONTH.fullmatch(text):
        year, month = int(match[1]), int(match[2])
        return PartialDate(year, month) if _MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= 12 else None
    if _YEAR_ONLY.fullmatch(text):
        year = int(text)
        return PartialDate(year) if _MIN_YEAR <= year <= _MAX_YEAR else None
    return None


def swapped(d: PartialDate) -> PartialDate | None:
    """The date with day and month exchanged (03/07 <-> 07/03) when both are 1-12 and differ, else None.

    Day/month transposition is the commonest date-of-birth keying error between UK and US-style systems.
    """
    if d.day is None or d.month is None or d.day == d.month or d.day > 12 or d.month > 12:
        return None
    return PartialDate(d.year, d.day, d.month, False)


# ---------------------------------------------------------------------------------------------------------
# Vehicles
# ---------------------------------------------------------------------------------------------------------


def vrm(text: str | None) -> str | None:
    """Registration mark without spaces or punctuation: 'ab12 cde' -> 'AB12CDE'; any 2-10 letters/digits.

    Foreign, cherished and dateless plates exist, so (like `formats.normalise_vrm`) no GB pattern is
    required; `fold` also drops accents and stray punctuation that a strict parser would refuse.
    """
    if not text:
        return None
    compact = fold(text).replace(" ", "")
    return compact if 2 <= len(compact) <= 10 else None


def vin(text: str | None) -> str | None:
    """Vehicle identification number: 17 letters and digits without I, O or Q, else None."""
    if not text:
        return None
    try:
        return normalise_vin(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------
# Postcodes, phones, e-mail
# ---------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=_CACHE_SIZE)
def postcode(text: str | None) -> str | None:
    """UK postcode with one space: 'ls14ap', 'LS1-4AP' -> 'LS1 4AP'; None if it is not a postcode."""
    if not text:
        return None
    try:
        return normalise_postcode(fold(text))
    except ValueError:
        return None


def postcode_sector(pc: str | None) -> str | None:
    """Postcode sector: 'LS1 4AP' -> 'LS1 4'."""
    full = postcode(pc)
    return full[:-2] if full else None


def postcode_district(pc: str | None) -> str | None:
    """Postcode district (outward code): 'LS1 4AP' -> 'LS1'."""
    full = postcode(pc)
    return full.split(" ", 1)[0] if full else None


@lru_cache(maxsize=_CACHE_SIZE)
def phone(text: str | None, region: str = "GB") -> str | None:
    """Phone number as E.164: '0113 496 0000', '+44 (0)113 496 0000' -> '+441134960000'.

    Numbers without a country code are read as numbers of `region`. An extension is dropped (the line
    number is what matches). None when the text is not a possible number.
    """
    if not text or text.isspace():
        return None
    if region == "GB":
        try:
            return normalise_phone(text)
        except ValueError:
            pass  # e.g. an extension, which formats refuses to store; the generic parser drops it
    try:
        number = phonenumbers.parse(text, region)
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except (phonenumbers.NumberParseException, ValueError):
        return None


def email(text: str | None) -> str | None:
    """E-mail address stripped and lower-cased; None without exactly one '@' and a dotted domain."""
    if not text:
        return None
    try:
        return normalise_email(text).lower()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------
# Addresses and organisations
# ---------------------------------------------------------------------------------------------------------

_STREET_WORDS = {
    "RD": "ROAD",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "LN": "LANE",
    "DR": "DRIVE",
    "CRES": "CRESCENT",
    "CL": "CLOSE",
    "CT": "COURT",
    "PL": "PLACE",
    "SQ": "SQUARE",
    "TER": "TERRACE",
    "TERR": "TERRACE",
    "GDNS": "GARDENS",
    "GR": "GROVE",
    "GRV": "GROVE",
    "PDE": "PARADE",
}
_NUMBER_LETTER = re.compile(r"(?<=[0-9]) (?=[A-Z])")


def _street(text: str) -> str:
    tokens = fold(text).split()
    last = len(tokens) - 1
    return " ".join(
        "STREET" if token == "ST" and index == last else _STREET_WORDS.get(token, token)
        for index, token in enumerate(tokens)
    )


def address_key(
    building_number: str | int | None,
    building_name: str | None,
    street: str | None,
    postcode: str | None,
) -> str | None:
    """'NUMBER|STREET|POSTCODE', e.g. (12, None, 'High St', 'ls1 4ap') -> '12|HIGH STREET|LS1 4AP'.

    The building name takes the number's place when there is no number. Street abbreviations are written
    out (RD, AVE, LN, DR, CRES, CL, CT, PL, SQ, TER(R), GDNS, GR, PDE; ST only as the last word, since
    'St Mary's Road' is Saint). An unreadable postcode counts as none. None without a number or name and
    without a postcode.
    """
    number = _NUMBER_LETTER.sub("", fold(_text(building_number))).replace(" ", "-")
    first = number or fold(_text(building_name))
    code = _postcode(_text(postcode)) or ""
    if not first and not code:
        return None
    return f"{first}|{_street(_text(street))}|{code}"


_postcode = postcode  # address_key's parameter is called `postcode`

_ORGANISATION_SUFFIXES = frozenset(
    {"LIMITED", "LTD", "PLC", "LLP", "CO", "COMPANY", "INC", "INCORPORATED", "CORP", "CORPORATION"}
)


def organisation_key(name: str | None) -> str | None:
    """Organisation name key: 'The Smith & Sons Co. Ltd', 'Smith and Sons Limited' -> 'SMITH AND SONS'.

    & is AND, a leading THE and trailing company-form words (LIMITED, LTD, PLC, LLP, CO, COMPANY, INC,
    CORP...) are dropped, unless nothing else would be left.
    """
    if not name:
        return None
    tokens = fold(name.replace("&", " AND ")).split()
    if not tokens:
        return None
    start, end = 0, len(tokens)
    if end > 1 and tokens[0] == "THE":
        start = 1
    while end - start > 1 and (tokens[end - 1] in _ORGANISATION_SUFFIXES or tokens[end - 1] == "AND"):
        end -= 1
    return " ".join(tokens[start:end])


# ---------------------------------------------------------------------------------------------------------
# Person identifiers
# ---------------------------------------------------------------------------------------------------------


def identifier(kind: str, value: str | None) -> str | None:
    """An identifier for exact comparison: letters and digits, upper case ('ab 12 34 56 c' -> 'AB123456C').

    A PNC ID is put in its canonical 'YYYY/NNNNNNNL' form when it parses ('01/123456F' and
    '2001/0123456F' agree); a CRO number is padded to its canonical form first, then compacted. A driving
    licence number with its two issue digits keeps only the 16-character number.
    """
    text = _text(value)
    if not text:
        return None
    if kind == "pnc_id":
        try:
            return normalise_pnc_id(text)
        except ValueError:
            pass
    elif kind == "cro_number":
        with contextlib.suppress(ValueError):
            text = normalise_cro_number(text)
    compact = fold(text).replace(" ", "")
    if kind == "driving_licence" and len(compact) == 18 and compact[16:].isdigit():
        compact = compact[:16]
    return compact or None
