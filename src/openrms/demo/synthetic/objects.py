"""Each individual's phones, e-mail addresses and vehicles, unique across the population.

A household may share a landline; offenders change mobile phones more often. Vehicles carry current-style GB
plates (mostly Yorkshire's) and sometimes a VIN from the maker's world manufacturer identifier.
"""

from __future__ import annotations

import datetime as dt
import random

from openrms.demo.synthetic.draws import Weighted, unique
from openrms.demo.synthetic.tables import (
    COLOURS,
    DIALLING,
    FREE_MAIL,
    PLATE_LETTERS,
    VEHICLES,
    VIN_CHARS,
    WMI,
)
from openrms.demo.synthetic.truth import Person, Vehicle


def add_objects(people: list[Person], rng: random.Random, today: dt.date) -> None:
    """Phones (a household may share a landline), e-mail addresses and vehicles, unique in the population."""
    numbers: set[str] = set()
    mailboxes: set[str] = set()
    plates: set[str] = set()
    landlines: dict[int, str | None] = {}
    vehicles = Weighted([(v, v[3]) for v in VEHICLES])
    colours = Weighted(COLOURS)

    def mobile() -> str:
        return f"7{rng.choice('12345789')}{int(rng.random() * 10**8):08d}"

    def landline(code: str) -> str:
        digits = 9 - len(code)
        return f"{code}{rng.randint(2, 7)}{int(rng.random() * 10**digits):0{digits}d}"

    def email(p: Person) -> str:
        first = "".join(c for c in p.forenames[0].lower() if c.isalpha())
        last = "".join(c for c in p.surname.lower() if c.isalpha())
        style = rng.choice((f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}"))
        suffix = rng.choice(("", "", f"{p.dob.year % 100:02d}", str(rng.randint(1, 999))))
        return f"{style}{suffix}@{rng.choice(FREE_MAIL)}"

    for p in people:
        age = p.age_on(today)
        if p.household not in landlines:
            code = DIALLING.get(p.address.town, "1924")
            landlines[p.household] = unique(numbers, landline, code) if rng.random() < 0.3 else None
        if age >= 12 and rng.random() < (0.97 if p.offender else 0.88):
            p.phones.append((unique(numbers, mobile), "MOBILE"))
            for chance in (0.45, 0.2) if p.offender else (0.05,):  # offenders change phones
                if rng.random() < chance:
                    p.phones.append((unique(numbers, mobile), "MOBILE"))
        home = landlines[p.household]
        if home and age >= 16:
            p.phones.append((home, "LANDLINE"))
        if age >= 14 and rng.random() < 0.5:
            p.emails.append(unique(mailboxes, email, p))
        if age >= 18:
            for chance in (0.30, 0.15) if p.offender else (0.33, 0.08):
                if rng.random() >= chance:
                    break
                p.vehicles.append(_vehicle(rng, today, len(plates), vehicles(rng), colours(rng), plates))


def _vehicle(
    rng: random.Random,
    today: dt.date,
    n: int,
    model: tuple[str, str, str, float],
    colour: str,
    plates: set[str],
) -> Vehicle:
    """A vehicle with a current-style GB plate ('YA17 KDE': area, age identifier, random letters)."""
    make, name, vehicle_type, _ = model
    while True:
        year = rng.randint(2002, today.year)
        september = rng.random() < 0.5 and (year < today.year or today.month >= 9)
        area = (
            "Y" + rng.choice("ABCDEFGHJKLMNOPRSTUVWXY")
            if rng.random() < 0.75  # Y: Yorkshire
            else rng.choice("ABDEFGHKLMNOPRSVWY") + rng.choice(PLATE_LETTERS)
        )
        vrm = f"{area}{year % 100 + (50 if september else 0):02d} {''.join(rng.choices(PLATE_LETTERS, k=3))}"
        if vrm not in plates:
            plates.add(vrm)
            break
    vin = WMI[make] + "".join(rng.choices(VIN_CHARS, k=14)) if rng.random() < 0.25 else None
    return Vehicle(
        n, vrm, make, name, vehicle_type, colour, year, vin, "KEEPER_OF" if rng.random() < 0.75 else "OWNS"
    )
