"""The individuals: households at addresses on seeded streets, who they are, and who offends.

Faker is never called per person (too slow): its en_GB name lists are read once (`tables.name_pools`) and
drawn from with our own seeded `random.Random`. Families share a surname and an address; a few people have
moved and keep an earlier address.
"""

from __future__ import annotations

import datetime as dt
import random

from openrms.demo.synthetic.draws import Weighted, date_between
from openrms.demo.synthetic.shape import OFFENDER_SHARE
from openrms.demo.synthetic.tables import (
    BIRTHPLACES_UK,
    ETHNICITIES,
    FOREIGN_BIRTHPLACES,
    INWARD_LETTERS,
    NATIONALITIES,
    NATIONALITY_ETHNICITY,
    OCCUPATIONS,
    SOUTH_ASIAN_SURNAMES,
    TOWNS,
    name_pools,
    street_suffixes,
)
from openrms.demo.synthetic.truth import Address, Person


class World:
    """Streets and the draws shared by every household."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self.rng, self.today = rng, today
        self.names = name_pools()
        self.towns = Weighted([(town, town[1]) for town in TOWNS])
        self.nationality = Weighted(NATIONALITIES)
        self.ethnicity = Weighted(ETHNICITIES)
        self.addresses = 0
        self.streets: dict[
            str, list[tuple[str, str, float, float]]
        ] = {}  # (name, sector, latitude, longitude)
        suffixes = street_suffixes()
        for town, weight, lat, lon, districts in TOWNS:
            streets: dict[str, tuple[str, str, float, float]] = {}
            spread = 0.035 if weight > 5 else 0.012
            while len(streets) < int(30 + weight * 12):
                stem = rng.choice(self.names["male"] if rng.random() < 0.3 else self.names["surname_list"])
                name = f"{stem} {rng.choice(suffixes)}"
                sector = f"{rng.choice(districts)} {rng.randrange(10)}"
                streets.setdefault(
                    name,
                    (
                        name,
                        sector,
                        round(lat + rng.gauss(0, spread), 5),
                        round(lon + rng.gauss(0, spread * 1.6), 5),
                    ),
                )
            self.streets[town] = list(streets.values())

    def address(self) -> Address:
        rng = self.rng
        town = self.towns(rng)[0]
        street, sector, lat, lon = rng.choice(self.streets[town])
        self.addresses += 1
        return Address(
            self.addresses,
            str(1 + int(rng.random() ** 2 * 220)),
            street,
            town,
            f"{sector}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}",
            round(lat + rng.gauss(0, 0.002), 6),
            round(lon + rng.gauss(0, 0.003), 6),
            f"Flat {rng.randint(1, 12)}" if rng.random() < 0.12 else None,
        )

    def adult_age(self, low: int = 18, high: int = 90) -> int:
        while True:
            age = self.rng.randint(low, high)
            if age < 60 or self.rng.random() < (90 - age) / 35:
                return age

    def gender(self) -> str:
        r = self.rng.random()
        return "M" if r < 0.497 else "F" if r < 0.997 else "X"

    def forenames(self, gender: str) -> list[str]:
        pool = self.names["F" if gender == "F" else "M"]
        first = pool(self.rng)
        if self.rng.random() < 0.35:
            second = pool(self.rng)
            if second != first:
                return [first, second]
        return [first]


def _household_members(world: World, kind: str, surname: str) -> list[tuple[str, int, str, str | None, str]]:
    """(gender, age, surname, maiden name, role) of a household's members; families share the surname."""
    rng, names = world.rng, world.names
    if kind == "single":
        return [(world.gender(), world.adult_age(), surname, None, "single")]
    if kind == "shared":
        return [
            (world.gender(), world.adult_age(18, 35), names["surname"](rng), None, "sharer")
            for _ in range(rng.randint(2, 4))
        ]
    age = world.adult_age(30, 58) if kind == "family" else world.adult_age(20)
    first = "M" if rng.random() < 0.5 else "F"
    members = [(first, age, surname, None, "parent")]
    if kind == "couple" or rng.random() < 0.75:
        other = {"M": "F", "F": "M"}[first] if rng.random() < 0.95 else first
        other_age = max(18, min(90, age + rng.randint(-6, 6)))
        maiden = names["surname"](rng)
        if rng.random() < 0.65 and other != first:  # married: she took his surname
            members = [
                (first, age, surname, maiden if first == "F" else None, "spouse"),
                (other, other_age, surname, maiden if other == "F" else None, "spouse"),
            ]
        else:
            members = [(first, age, surname, None, "partner"), (other, other_age, maiden, None, "partner")]
    if kind == "family":
        high = min(min(m[1] for m in members) - 18, 25)
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            if high >= 10:
                members.append((world.gender(), rng.randint(10, high), surname, None, "child"))
    return members


def households(world: World, count: int) -> list[Person]:
    """Households (single, couple, family, shared house) until there are `count` people."""
    rng, today, people = world.rng, world.today, []
    kinds = Weighted((("single", 34), ("couple", 20), ("family", 34), ("shared", 12)))
    household = 0
    while len(people) < count:
        household += 1
        kind = kinds(rng)
        address = world.address()
        nationality, ethnicity = world.nationality(rng), world.ethnicity(rng)
        if nationality != "GBR":
            ethnicity = NATIONALITY_ETHNICITY.get(nationality, ethnicity)
        surname = (
            rng.choice(SOUTH_ASIAN_SURNAMES)
            if ethnicity in ("A1", "A2", "A3")
            else world.names["surname"](rng)
        )
        moved_in = today - dt.timedelta(days=int(365 * rng.uniform(0.1, 25)))
        for gender, age, member_surname, maiden, role in _household_members(world, kind, surname):
            if len(people) == count:
                break
            dob = today - dt.timedelta(days=int((age + 0.005 + rng.random() * 0.99) * 365.2425))
            person = Person(
                len(people),
                world.forenames(gender),
                member_surname,
                gender,
                dob,
                household,
                address,
                max(moved_in, dob),
                role=role,
                nationality=nationality,
                ethnicity=ethnicity,
                maiden=maiden,
            )
            _describe(world, person)
            people.append(person)
    return people


def _describe(world: World, p: Person) -> None:
    """The optional details a record may hold (title, birthplace, occupation), and perhaps an earlier home."""
    rng, today = world.rng, world.today
    age = p.age_on(today)
    if age >= 16 and rng.random() < 0.4:
        p.title = {"M": "MR", "X": "MX"}.get(p.gender) or ("MRS" if p.maiden else rng.choice(("MS", "MISS")))
    if p.maiden and rng.random() < 0.5:
        p.previous_names = [f"{' '.join(p.forenames)} {p.maiden}"]
    if p.nationality != "GBR":
        p.birthplace = rng.choice(FOREIGN_BIRTHPLACES[p.nationality])
    else:
        r = rng.random()
        p.birthplace = (
            p.address.town if r < 0.6 else world.towns(rng)[0] if r < 0.8 else rng.choice(BIRTHPLACES_UK)
        )
    if age >= 16 and rng.random() < 0.55:
        p.occupation = "Student" if age < 19 else "Retired" if age >= 67 else rng.choice(OCCUPATIONS)
    if rng.random() < 0.25 and p.moved_in > p.dob + dt.timedelta(days=19 * 366):
        since = date_between(
            rng,
            max(p.dob + dt.timedelta(days=16 * 366), p.moved_in - dt.timedelta(days=3650)),
            p.moved_in - dt.timedelta(days=90),
        )
        p.previous = (world.address(), since)


def _age_factor(age: int) -> float:
    """How likely someone of this age is to offend, relative to others: offending peaks in the twenties."""
    for limit, factor in ((14, 0.4), (17, 1.2), (29, 1.8), (44, 1.4), (59, 0.6), (74, 0.15)):
        if age <= limit:
            return factor
    return 0.03


def add_offending(people: list[Person], rng: random.Random, today: dt.date) -> None:
    """About OFFENDER_SHARE of people get an offending history, mostly young men; a few are prolific."""
    propensity = [{"M": 1.0, "F": 0.35}.get(p.gender, 0.6) * _age_factor(p.age_on(today)) for p in people]
    mean = sum(propensity) / max(1, len(propensity))
    for p, weight in zip(people, propensity, strict=True):
        if rng.random() < min(0.95, OFFENDER_SHARE * weight / mean):
            p.offender = True
            p.weight = min(40.0, rng.paretovariate(1.3))
