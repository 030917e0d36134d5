"""The truth behind the records: each synthetic individual, their addresses and their vehicles.

Phases fill these in (people, offending, objects, crime roles, identifiers, systems); the records are then
drawn from them, one copy per system. The clean first copy says what the individual is; the scoring of a
master index compares every copy with it through `Population.truth`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Address:
    """A home; `n` numbers it in the population, so each system holding it keeps one record of it."""

    n: int
    number: str
    street: str
    town: str
    postcode: str
    latitude: float
    longitude: float
    sub_building: str | None = None

    def data(self) -> dict[str, Any]:
        """The address record's data."""
        out: dict[str, Any] = {
            "building_number": self.number,
            "street": self.street,
            "town": self.town,
            "postcode": self.postcode,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "address_type": "RESIDENTIAL",
        }
        if self.sub_building:
            out["sub_building"] = self.sub_building
        return out


@dataclass(slots=True)
class Vehicle:
    """A vehicle its keeper or owner uses; `n` numbers it, like an address's."""

    n: int
    vrm: str
    make: str
    model: str
    vehicle_type: str
    colour: str
    year: int
    vin: str | None
    relation: str  # the owner's link: KEEPER_OF or OWNS

    def data(self) -> dict[str, Any]:
        """The vehicle record's data."""
        out: dict[str, Any] = {
            "vrm": self.vrm,
            "make": self.make,
            "model": self.model,
            "colour": self.colour,
            "vehicle_type": self.vehicle_type,
            "year_of_manufacture": self.year,
        }
        if self.vin:
            out["vin"] = self.vin
        return out


@dataclass(slots=True, eq=False)
class Person:
    """One real (synthetic) individual: the truth every copy of them is drawn from."""

    n: int
    forenames: list[str]
    surname: str
    gender: str
    dob: dt.date
    household: int
    address: Address
    moved_in: dt.date
    role: str = "single"  # in the household: single, spouse, partner, parent, child, sharer
    nationality: str = "GBR"
    ethnicity: str = "W1"
    maiden: str | None = None
    previous_names: list[str] = field(default_factory=list)
    title: str | None = None
    birthplace: str | None = None
    occupation: str | None = None
    offender: bool = False
    weight: float = 0.0  # how prolific an offender is
    ids: dict[str, str] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)
    physical: dict[str, Any] | None = None
    aliases: list[str] = field(default_factory=list)
    previous: tuple[Address, dt.date] | None = None  # an earlier address and when they moved there
    phones: list[tuple[str, str]] = field(default_factory=list)  # (national significant number, phone_type)
    emails: list[str] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)
    roles: list[tuple[int, str, dt.datetime]] = field(default_factory=list)  # (crime index, link type, when)
    systems: list[str] = field(default_factory=list)  # where they have a record, first copy first
    copies: dict[str, list[str]] = field(default_factory=dict)  # system code -> person record ids

    @property
    def iid(self) -> str:
        """The individual's id in `Population.truth`: 'IND000123'."""
        return f"IND{self.n:06d}"

    def age_on(self, day: dt.date) -> int:
        """Age in whole years on a day (the day before the birthday, still the younger age)."""
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))

    def copy_in(self, code: str, rng: random.Random | None = None) -> str | None:
        """This person's record in a system (a random one of two, given `rng`), or None."""
        found = self.copies.get(code)
        if not found:
            return None
        return found[0] if rng is None or len(found) == 1 else rng.choice(found)
