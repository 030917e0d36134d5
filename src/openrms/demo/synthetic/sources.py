"""The agencies' source systems, and which of them each individual appears in.

An individual's first record is clean; every further system they appear in (or a second record keyed in the
same system) is a duplicate that carries the errors of `synthetic_errors`. The chances are in `shape`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from openrms.demo.synthetic.shape import (
    NYP_ALSO_NICHE,
    NYP_PRIMARY,
    OFFENDER_SYSTEMS,
    OTHER_SYSTEMS,
    SAME_SYSTEM_DUPLICATE,
)
from openrms.demo.synthetic.truth import Person


@dataclass(frozen=True)
class SourceSystem:
    """A system of one agency; its users sign the records (provenance.recorded_by) made in it."""

    code: str  # prefix of the source keys, e.g. 'NICHE-P000123'
    agency: str
    name: str  # provenance.source_system
    description: str
    users: tuple[str, ...] = field(default=(), compare=False)  # provenance.recorded_by


def _users(prefix: str, count: int, salt: str) -> tuple[str, ...]:
    """A system's users, e.g. 'PC 4821': fixed for every seed, like a real system's staff."""
    rng = random.Random(f"users/{salt}")
    return tuple(f"{prefix} {rng.randrange(1000, 9999)}" for _ in range(count))


# fmt: off
SOURCE_SYSTEMS: dict[str, SourceSystem] = {s.code: s for s in (
    SourceSystem("NICHE", "WYP", "NICHE", "West Yorkshire Police crime records", _users("PC", 40, "niche")),
    SourceSystem("CUSTODY", "WYP", "CUSTODY", "West Yorkshire Police custody", _users("PS", 12, "custody")),
    SourceSystem("INTEL", "WYP", "INTEL", "West Yorkshire Police intelligence", _users("DC", 10, "intel")),
    SourceSystem("RMS", "NYP", "RMS", "North Yorkshire Police records", _users("PC", 15, "nyp")),
    SourceSystem("CMS", "CPS", "CMS", "Crown Prosecution Service cases", _users("Caseworker", 8, "cps")),
    SourceSystem("NOMIS", "HMPPS", "NOMIS", "Prison service offender management",
                 ("HMP Leeds reception", "HMP Wakefield reception", "HMP New Hall reception",
                  "HMP Doncaster reception", "HMYOI Wetherby reception")),
)}
# fmt: on


def choose_systems(people: list[Person], rng: random.Random) -> None:
    """The systems each individual appears in (1-4), first copy first; a few get a second NICHE record."""
    for p in people:
        if p.offender or p.roles or rng.random() >= NYP_PRIMARY:
            systems = ["NICHE"]
        else:
            systems = ["RMS"] + (["NICHE"] if rng.random() < NYP_ALSO_NICHE else [])
        if p.offender:
            extras = OFFENDER_SYSTEMS
        else:
            witnessed = any(role in ("VICTIM", "WITNESS") for _, role, _ in p.roles)
            extras = tuple((code, chance) for code, chance in OTHER_SYSTEMS if code != "CMS" or witnessed)
        for code, chance in extras:
            if rng.random() < chance and code not in systems and len(systems) < 4:
                systems.append(code)
        if "NICHE" in systems and rng.random() < SAME_SYSTEM_DUPLICATE[0 if len(p.roles) >= 2 else 1]:
            systems.append("NICHE")  # an officer who could not find the person keyed them again
        p.systems = systems
