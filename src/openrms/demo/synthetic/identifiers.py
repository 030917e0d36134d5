"""Identifiers and descriptions: PNC IDs and CRO numbers for offenders, NI numbers, licences and passports.

Every identifier is format-valid (PNC and CRO check letters, unissued NI prefixes avoided, a licence number
consistent with name, sex and birth date) and unique across the population: identifiers are what a master
index trusts most, so two individuals must never share one. Offenders also get warning markers, now and then
an alias, and most often a physical description; a few other people have one too.
"""

from __future__ import annotations

import datetime as dt
import random

from openrms.demo import synthetic_errors as errors
from openrms.demo.synthetic.draws import Weighted, unique
from openrms.demo.synthetic.tables import (
    BUILDS,
    EYES,
    HAIR,
    MARKERS,
    MARKS,
    NI_FIRST,
    NI_SECOND,
    NI_UNALLOCATED,
    PLATE_LETTERS,
    name_pools,
)
from openrms.demo.synthetic.truth import Person
from openrms.schema.formats import cro_check_letter, pnc_check_letter


def _licence(p: Person, rng: random.Random) -> str:
    """GB driving licence number consistent with surname, birth date, sex and initials."""
    letters = "".join(c for c in p.surname.upper() if "A" <= c <= "Z")[:5].ljust(5, "9")
    month = p.dob.month + (50 if p.gender == "F" else 0)
    initials = "".join(n[0] for n in p.forenames[:2]).upper().ljust(2, "9")
    check = "".join(rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=2))
    return f"{letters}{p.dob.year // 10 % 10}{month:02d}{p.dob.day:02d}{p.dob.year % 10}{initials}9{check}"


def add_identifiers(people: list[Person], rng: random.Random, today: dt.date) -> None:
    """PNC ID (and often a CRO number) for offenders, NI numbers, licences and passports for adults."""
    used: set[str] = set()
    markers, builds = Weighted(MARKERS), Weighted(BUILDS)
    surnames = name_pools()["surname_list"]

    def pnc(year: int) -> str:
        serial = rng.randrange(1, 10**7)
        return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"

    def cro(year2: int) -> str:
        serial = rng.randrange(1, 10**6)
        letter = cro_check_letter(year2, serial)
        return (
            f"SF {year2:02d}/{serial:06d}{letter}"
            if rng.random() < 0.1
            else f"{serial:06d}/{year2:02d}{letter}"
        )

    def ni() -> str:
        while (prefix := rng.choice(NI_FIRST) + rng.choice(NI_SECOND)) in NI_UNALLOCATED:
            pass
        return f"{prefix}{rng.randrange(10**6):06d}{rng.choice('ABCD')}"

    def passport(british: bool) -> str:
        if british:
            return f"{rng.randint(1, 5)}{rng.randrange(10**8):08d}"
        return f"{''.join(rng.choices(PLATE_LETTERS, k=2))}{rng.randrange(10**7):07d}"

    for p in people:
        age = p.age_on(today)
        if p.offender:
            first_crime = min((when.year for _, _, when in p.roles), default=today.year)
            year = max(p.dob.year + 10, 1975, min(today.year, first_crime, p.dob.year + rng.randint(12, 30)))
            p.ids["pnc_id"] = unique(used, pnc, year)
            if rng.random() < 0.55:
                convicted = min(today.year, year + rng.randint(0, 3))
                p.ids["cro_number"] = unique(used, cro, convicted % 100)
            if rng.random() < 0.3:
                p.markers = sorted(
                    {markers(rng) for _ in range(1 + (rng.random() < 0.4) + (rng.random() < 0.1))}
                )
            if rng.random() < 0.08:
                nicks = errors.nicknames_for(p.forenames[0])
                p.aliases = [f"{rng.choice(nicks) if nicks else p.forenames[0]} {rng.choice(surnames)}"]
        if age >= 16 and rng.random() < (0.9 if p.nationality == "GBR" else 0.75):
            p.ids["ni_number"] = unique(used, ni)
        if age >= 17 and rng.random() < (0.7 if p.gender == "M" else 0.62):
            p.ids["driving_licence"] = unique(used, _licence, p, rng)
        if age >= 16 and rng.random() < 0.45:
            p.ids["passport_number"] = unique(used, passport, p.nationality == "GBR")
        if rng.random() < (0.6 if p.offender else 0.03):
            mean = {"M": 176, "F": 163}.get(p.gender, 170) - max(0, 16 - age) * 5
            p.physical = {
                "height_cm": int(min(210, max(120, rng.gauss(mean, 7)))),
                "build": builds(rng),
                "hair_colour": rng.choice(HAIR),
                "eye_colour": rng.choice(EYES),
            }
            if rng.random() < 0.4:
                p.physical["distinguishing_marks"] = rng.choice(MARKS)
