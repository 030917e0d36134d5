"""The stored crimes people are linked to, and who was victim, suspect or witness in which.

Crimes come from the demo loader as `CrimeRef`s; a sample of them get 1-4 roles each, drawn by their type's
profile (`shape.CRIME_PROFILES`) and mostly given to people living nearby. Suspects are offenders, the
prolific more often; co-suspects become associates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from openrms.demo.synthetic.draws import Weighted
from openrms.demo.synthetic.shape import (
    CONVICTED,
    CRIME_PROFILES,
    CRIME_SHARE,
    CRIMES_PER_PERSON,
    DEFAULT_PROFILE,
)
from openrms.demo.synthetic.truth import Person


@dataclass(frozen=True)
class CrimeRef:
    """A crime already stored (by the demo loader) that synthetic people may be linked to."""

    record_id: str
    month: str  # 'YYYY-MM'
    latitude: float | None
    longitude: float | None
    crime_type: str  # a crime_type code or its label, e.g. 'Violence and sexual offences'


@cache
def _crime_codes() -> dict[str, str]:
    """Upper-cased labels and codes of the crime_type code list -> code (the registry loads on first use)."""
    from openrms.schema import registry

    codes = registry().codelists["crime_type"].codes
    return {
        **{label.upper(): code for code, label in codes.items()},
        **{code.upper(): code for code in codes},
    }


def crime_code(crime_type: str) -> str:
    """The crime_type code for a code or its label ('Violence and sexual offences' -> 'VIOLENCE_SEXUAL')."""
    text = crime_type.strip().upper()
    return _crime_codes().get(text, text.replace(" ", "_"))


def _cell(latitude: float | None, longitude: float | None) -> tuple[int, int] | None:
    """The map cell a point is in: people in a crime's cell are 'nearby' when its roles are drawn."""
    if latitude is None or longitude is None:
        return None
    return int(latitude * 20 // 1), int(longitude * 20 // 1)  # about 5 km by 3 km


def _crime_when(rng: random.Random, month: str, latest: dt.datetime) -> dt.datetime | None:
    """A moment in the crime's month before `latest`; None if the month has not begun or is unreadable."""
    try:
        year, mon = int(month[:4]), int(month[5:7])
        start = dt.datetime(year, mon, 1, tzinfo=dt.UTC)
    except (ValueError, IndexError):
        return None
    if start >= latest:
        return None
    when = start + dt.timedelta(
        days=rng.randrange(calendar.monthrange(year, mon)[1]), minutes=rng.randrange(24 * 60)
    )
    if when >= latest:
        when = start + (latest - start) * rng.random()
    return when.replace(second=0, microsecond=0)


def add_crime_roles(
    people: list[Person],
    crimes: Sequence[CrimeRef],
    rng: random.Random,
    latest: dt.datetime,
    pairs: dict[tuple[int, int], str | None],
) -> None:
    """Give a sample of the crimes victims, suspects and witnesses, most of them living nearby.

    min(CRIME_SHARE * crimes, CRIMES_PER_PERSON * people) crimes get anyone, each with 1-4 roles, so the
    person-crime links grow in proportion to the crimes given. Suspects are offenders (prolific ones more
    often) at least 10 years old at the time; co-suspects become associates (`pairs`).
    """
    if not crimes or not people:
        return
    chosen = sorted(
        rng.sample(
            range(len(crimes)),
            min(len(crimes), round(CRIME_SHARE * len(crimes)), round(CRIMES_PER_PERSON * len(people))),
        )
    )
    offenders = [p for p in people if p.offender]
    everyone_near: dict[tuple[int, int] | None, list[Person]] = {}
    offenders_near: dict[tuple[int, int] | None, list[Person]] = {}
    for p in people:
        cell = _cell(p.address.latitude, p.address.longitude)
        everyone_near.setdefault(cell, []).append(p)
        if p.offender:
            offenders_near.setdefault(cell, []).append(p)
    prolific = Weighted([(p, p.weight) for p in offenders]) if offenders else None

    def anyone(_: random.Random) -> Person:
        return people[int(rng.random() * len(people))]

    def pick(
        near: list[Person] | None,
        draw: Callable[[random.Random], Person],
        day: dt.date,
        min_age: int,
        taken: list[int],
    ) -> Person | None:
        for _ in range(6):
            p = near[int(rng.random() * len(near))] if near and rng.random() < 0.6 else draw(rng)
            if p.n not in taken and p.dob <= day and p.age_on(day) >= min_age:
                taken.append(p.n)
                return p
        return None

    for index in chosen:
        crime = crimes[index]
        when = _crime_when(rng, crime.month, latest)
        if when is None:
            continue
        day, cell = when.date(), _cell(crime.latitude, crime.longitude)
        victim_p, suspect_p, more_p, witness_p = CRIME_PROFILES.get(
            crime_code(crime.crime_type), DEFAULT_PROFILE
        )
        wants_suspect, wants_victim = rng.random() < suspect_p, rng.random() < victim_p
        if not wants_suspect and not wants_victim:  # a chosen crime has someone
            wants_suspect = suspect_p >= victim_p
            wants_victim = not wants_suspect
        taken: list[int] = []
        suspects: list[Person] = []
        if wants_suspect and prolific:
            for _ in range(1 + (rng.random() < more_p) + (rng.random() < more_p / 3)):
                found = pick(offenders_near.get(cell), prolific, day, 10, taken)
                if found:
                    found.roles.append((index, "OFFENDER" if rng.random() < CONVICTED else "SUSPECT", when))
                    suspects.append(found)
        if wants_victim and (found := pick(everyone_near.get(cell), anyone, day, 0, taken)):
            found.roles.append((index, "VICTIM", when))
        if rng.random() < witness_p and (found := pick(everyone_near.get(cell), anyone, day, 12, taken)):
            found.roles.append((index, "WITNESS", when))
        for i, a in enumerate(suspects):
            for b in suspects[i + 1 :]:
                pairs.setdefault((min(a.n, b.n), max(a.n, b.n)), crime.month)
