"""The error model of the synthetic population: how a duplicate copy of a person drifts from the truth.

The first copy of an individual is clean. Every later copy (another system's record, or a second record keyed
in the same system) draws each error kind below independently, with the probability given; a kind that does
not apply to the person (no nickname for 'Mohammed', a day of birth above 12 for a day/month swap) is skipped.
Identifiers are never corrupted: a copy either keeps one exactly or drops it. docs/synthetic-data.md lists the
kinds with examples; tests count them by comparing each copy with its individual's first copy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from nicknames import NickNamer

IDENTIFIERS = ("pnc_id", "cro_number", "ni_number", "passport_number", "driving_licence")


@dataclass(frozen=True)
class ErrorKind:
    name: str
    probability: float
    applies_when: str
    example: str


# Order matters: kinds are drawn independently but applied in this order, and of the date-of-birth kinds only
# the first one drawn is applied (a date cannot be both missing and swapped).
ERROR_KINDS: tuple[ErrorKind, ...] = (
    ErrorKind(
        "dropped_second_forename", 0.30, "the person has two or more given names", "'John Paul' -> 'John'"
    ),
    ErrorKind("extra_middle_name", 0.04, "the person has one given name", "'Sarah' -> 'Sarah Louise'"),
    ErrorKind(
        "nickname",
        0.12,
        "the first forename has a known diminutive (nicknames package)",
        "'William' -> 'Bill', 'Elizabeth' -> 'Liz'",
    ),
    ErrorKind(
        "surname_change",
        0.08,
        "women aged 18+ (0.01 for men): marriage or divorce",
        "'Karen Walsh' -> 'Karen Hughes', previous_names ['Karen Walsh'] half the time",
    ),
    ErrorKind(
        "surname_variant",
        0.20,
        "the surname is in the phonetic variant table",
        "'Smith' -> 'Smyth', 'Thompson' -> 'Thomson', 'Hurst' -> 'Hirst'",
    ),
    ErrorKind(
        "typo",
        0.08,
        "always (one edit to the first forename or the surname)",
        "'Jennings' -> 'Jenings' / 'Jennigns' / 'Jennimgs' / 'Jenninngs'",
    ),
    ErrorKind("name_order_swap", 0.02, "always", "forenames 'Ali', surname 'Hussain' -> 'Hussain' / 'Ali'"),
    ErrorKind("missing_dob", 0.03, "always", "date_of_birth dropped"),
    ErrorKind("dob_year_only", 0.03, "always", "'1987-06-14' -> '1987'"),
    ErrorKind("dob_placeholder", 0.02, "the date is not already 1 January", "'1987-06-14' -> '1987-01-01'"),
    ErrorKind(
        "dob_day_month_swap", 0.06, "day of month <= 12 and day != month", "'1987-06-11' -> '1987-11-06'"
    ),
    ErrorKind("missing_gender", 0.05, "always", "gender dropped"),
    ErrorKind(
        "missing_identifier",
        0.25,
        "per identifier the copy would carry (PNC, CRO, NI, passport, licence)",
        "ni_number dropped, pnc_id kept",
    ),
)
RATES = {kind.name: kind.probability for kind in ERROR_KINDS}
SURNAME_CHANGE_MALE = 0.01
_DOB_KINDS = ("missing_dob", "dob_year_only", "dob_placeholder", "dob_day_month_swap")

# Real spelling variants that sound alike (or are keyed interchangeably); each maps to the rest of its group.
SURNAME_VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Smith", "Smyth", "Smythe"),
    ("Thompson", "Thomson", "Tomson"),
    ("Clark", "Clarke"),
    ("Reid", "Reed", "Read"),
    ("Phillips", "Philips", "Philipps"),
    ("Macdonald", "McDonald"),
    ("Stephens", "Stevens"),
    ("Gray", "Grey"),
    ("Stephenson", "Stevenson"),
    ("Davies", "Davis", "Davys"),
    ("Davidson", "Davison"),
    ("Brooks", "Brookes"),
    ("Cook", "Cooke"),
    ("Brown", "Browne"),
    ("Sharp", "Sharpe"),
    ("Shepherd", "Sheppard", "Shepard"),
    ("Humphreys", "Humphries", "Humphrys"),
    ("Howell", "Howells"),
    ("Johnson", "Jonson"),
    ("Johnston", "Johnstone"),
    ("Matthews", "Mathews"),
    ("Nicholls", "Nichols", "Nicolls"),
    ("Pearce", "Pierce", "Pearse"),
    ("Rees", "Reece", "Rhys"),
    ("Lees", "Leese", "Leas"),
    ("Gardner", "Gardiner"),
    ("Foster", "Forster"),
    ("Allen", "Allan", "Alan"),
    ("Wallace", "Wallis"),
    ("Hussain", "Hussein", "Husain"),
    ("Ahmed", "Ahmad"),
    ("Walsh", "Welsh"),
    ("Byrne", "Burn", "Byrnes"),
    ("Connor", "Conner", "Conor"),
    ("O'Neill", "O'Neil", "ONeill"),
    ("O'Brien", "O'Bryan", "OBrien"),
    ("McKenzie", "Mackenzie"),
    ("McLean", "Maclean", "McClean"),
    ("Kerr", "Carr"),
    ("Moore", "More", "Muir"),
    ("Gough", "Goff"),
    ("Lowe", "Low"),
    ("Hayes", "Hays"),
    ("Lloyd", "Loyd"),
    ("Griffiths", "Griffith"),
    ("Sims", "Simms"),
    ("Storey", "Story"),
    ("Daly", "Daley"),
    ("Kay", "Kaye"),
    ("Rowe", "Roe"),
    ("Payne", "Paine", "Pain"),
    ("Mellor", "Meller"),
    ("Whittaker", "Whitaker"),
    ("Hurst", "Hirst"),
    ("Dickinson", "Dickenson"),
    ("Parkes", "Parks"),
    ("Nicholson", "Nicolson"),
    ("Hodgson", "Hodgeson"),
    ("Naylor", "Nailor"),
    ("Sykes", "Sikes"),
    ("Haynes", "Haines"),
    ("Rhodes", "Rhoades", "Roads"),
    ("Myers", "Meyers"),
    ("Hutchinson", "Hutchison"),
    ("Stewart", "Stuart"),
    ("Jarvis", "Jervis"),
    ("Kirby", "Kirkby"),
    ("Thornton", "Thorton"),
    ("Atkins", "Adkins"),
    ("Hughes", "Hewes"),
    ("Mohammed", "Mohammad", "Mohamed"),
    ("Rahman", "Rehman"),
    ("Mahmood", "Mahmud", "Mehmood"),
    ("Miah", "Mia"),
    ("Chan", "Chen"),
    ("Fletcher", "Flecher"),
    ("Barratt", "Barrett"),
    ("Burgess", "Burgiss"),
    ("Crawford", "Crauford"),
)
SURNAME_VARIANTS: dict[str, tuple[str, ...]] = {
    name: tuple(other for other in group if other != name)
    for group in SURNAME_VARIANT_GROUPS
    for name in group
}

_LOWER = "abcdefghijklmnopqrstuvwxyz"
# Keys next to each other on a QWERTY keyboard: most substitution typos hit a neighbour.
_NEIGHBOURS = {
    "q": "wa",
    "w": "qes",
    "e": "wrd",
    "r": "etf",
    "t": "ryg",
    "y": "tuh",
    "u": "yij",
    "i": "uok",
    "o": "ipl",
    "p": "ol",
    "a": "qsz",
    "s": "adwx",
    "d": "sfec",
    "f": "dgrv",
    "g": "fhtb",
    "h": "gjyn",
    "j": "hkum",
    "k": "jlim",
    "l": "ko",
    "z": "ax",
    "x": "zcs",
    "c": "xvd",
    "v": "cbf",
    "b": "vng",
    "n": "bmh",
    "m": "nj",
}


@cache
def _namer() -> NickNamer:
    return NickNamer()


@cache
def nicknames_for(forename: str) -> tuple[str, ...]:
    """Title-cased diminutives of a forename, sorted (a stable order keeps the generator deterministic)."""
    found = _namer().nicknames_of(forename.lower())
    return tuple(sorted(n.title() for n in found if len(n) >= 2 and n.isalpha() and n != forename.lower()))


def typo(name: str, rng: random.Random) -> str:
    """One keying error: substitution (usually a neighbouring key), deletion, insertion or adjacent swap.

    The first character is left alone (people rarely mistype the capital), and only letters are touched.
    """
    spots = [i for i in range(1, len(name)) if name[i].isalpha()]
    if not spots:
        return name
    for _ in range(8):
        i = rng.choice(spots)
        char = name[i]
        kind = rng.random()
        if kind < 0.35:
            pool = _NEIGHBOURS.get(char.lower(), _LOWER) if rng.random() < 0.8 else _LOWER
            new = name[:i] + rng.choice(pool) + name[i + 1 :]
        elif kind < 0.6:
            new = name[:i] + name[i + 1 :]
        elif kind < 0.8:
            extra = char.lower() if rng.random() < 0.5 else rng.choice(_LOWER)
            new = name[:i] + extra + name[i:]
        else:
            j = i + 1 if i + 1 < len(name) and name[i + 1].isalpha() else i - 1
            if j < 1:
                continue
            a, b = sorted((i, j))
            new = name[:a] + name[b] + name[a] + name[b + 1 :]
        if new != name and any(c.isalpha() for c in new):
            return new
    return name


def _dob_error(kind: str, dob: str | None) -> str | bool | None:
    """The new date for a date-of-birth error, None to drop it, or False when the kind does not apply."""
    if kind == "missing_dob":
        return None if dob else False
    if not dob or len(dob) != 10:
        return False
    if kind == "dob_year_only":
        return dob[:4]
    if kind == "dob_placeholder":
        return f"{dob[:4]}-01-01" if dob[5:] != "01-01" else False
    month, day = dob[5:7], dob[8:10]
    if int(day) > 12 or day == month:
        return False
    return f"{dob[:4]}-{day}-{month}"


def corrupt(
    data: dict[str, Any],
    rng: random.Random,
    *,
    female: bool,
    adult: bool,
    maiden: str | None,
    surnames: Sequence[str],
    middle_names: Sequence[str],
) -> list[str]:
    """Apply the error model in place to a duplicate copy's data; return the kinds applied, in order.

    `maiden` is the surname before marriage, if any; `surnames` and `middle_names` are the pools new names
    come from. Every kind is drawn up front, whether or not it applies, so the draws are independent.
    """
    draws = {kind.name: rng.random() for kind in ERROR_KINDS}
    picks = [rng.random() for _ in range(4)]
    applied: list[str] = []
    names = data["forenames"].split(" ")
    surname = data["surname"]
    full = " ".join(names)

    if len(names) >= 2 and draws["dropped_second_forename"] < RATES["dropped_second_forename"]:
        del names[1]
        applied.append("dropped_second_forename")
    elif len(names) == 1 and draws["extra_middle_name"] < RATES["extra_middle_name"]:
        middle = middle_names[int(picks[0] * len(middle_names))]
        if middle != names[0]:
            names.append(middle)
            applied.append("extra_middle_name")
    nicks = nicknames_for(names[0])
    if nicks and draws["nickname"] < RATES["nickname"]:
        names[0] = nicks[int(picks[1] * len(nicks))]
        applied.append("nickname")
    change_rate = RATES["surname_change"] if female else SURNAME_CHANGE_MALE
    if adult and draws["surname_change"] < change_rate:
        if maiden and maiden != surname:
            surname = maiden  # an older record, from before the marriage
            data.pop("previous_names", None)
        else:
            new = surnames[int(picks[2] * len(surnames))]
            if new == surname:
                new = surnames[(int(picks[2] * len(surnames)) + 1) % len(surnames)]
            if rng.random() < 0.5:
                data["previous_names"] = [f"{full} {surname}"]
            surname = new
        applied.append("surname_change")
    variants = SURNAME_VARIANTS.get(surname)
    if variants and draws["surname_variant"] < RATES["surname_variant"]:
        surname = variants[int(picks[3] * len(variants))]
        applied.append("surname_variant")
    if draws["typo"] < RATES["typo"]:
        if rng.random() < 0.5:
            names[0] = typo(names[0], rng)
        else:
            surname = typo(surname, rng)
        applied.append("typo")
    if draws["name_order_swap"] < RATES["name_order_swap"]:
        names, surname = [surname], names[0]
        applied.append("name_order_swap")
    data["forenames"], data["surname"] = " ".join(names), surname

    for kind in _DOB_KINDS:
        if draws[kind] < RATES[kind]:
            new_dob = _dob_error(kind, data.get("date_of_birth"))
            if new_dob is False:
                continue
            if new_dob is None:
                data.pop("date_of_birth", None)
            else:
                data["date_of_birth"] = new_dob
            applied.append(kind)
            break
    if "gender" in data and draws["missing_gender"] < RATES["missing_gender"]:
        del data["gender"]
        applied.append("missing_gender")
    dropped = False
    for key in IDENTIFIERS:
        if key in data and rng.random() < RATES["missing_identifier"]:
            del data[key]
            dropped = True
    if dropped:
        applied.append("missing_identifier")
    return applied
