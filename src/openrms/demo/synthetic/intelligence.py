"""Intelligence reports on people in the intelligence system, graded 3x5x2 (or 5x5x5 before 2016).

A report may name an associate as a co-subject and a vehicle the subject uses. Reports are
OFFICIAL-SENSITIVE; a handling code of C carries its conditions into the record's provenance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openrms.demo.synthetic.draws import iso
from openrms.demo.synthetic.events import Events
from openrms.demo.synthetic.tables import (
    CONDITIONS,
    DRUGS,
    INTEL_THEMES,
    INTEL_VEHICLE,
    LEGACY_BEFORE,
    LEGACY_CONDITIONS,
    LEGACY_INTELLIGENCE,
    LEGACY_SOURCE,
)
from openrms.demo.synthetic.truth import Person


def intelligence(ev: Events, p: Person, associates: dict[int, list[Person]]) -> None:
    """1-3 intelligence reports on a person in the intelligence system; associates may be co-subjects."""
    rid = p.copy_in("INTEL")
    if rid is None:
        return
    rng = ev.rng
    for _ in range(1 + (rng.random() < 0.5) + (rng.random() < 0.2)):
        when = ev.r.since(p, 12, 14)
        if when is None:
            return
        vehicle = p.vehicles[0] if p.vehicles and rng.random() < 0.25 else None
        summary = (
            INTEL_VEHICLE.format(vrm=vehicle.vrm, town=p.address.town)
            if vehicle
            else rng.choice(INTEL_THEMES).format(drug=rng.choice(DRUGS), town=p.address.town)
        )
        report = _intel_record(ev, when, summary)
        ev.out.link("INTEL", "SUBJECT", rid, report, iso(when))
        for other in associates.get(p.n, ()):
            other_rid = other.copy_in("INTEL")
            if other_rid and rng.random() < 0.3:
                ev.out.link("INTEL", "SUBJECT", other_rid, report, iso(when))
        if vehicle:
            vid = ev.out.shared_record("INTEL", "vehicle", "V", vehicle.n, vehicle.data)
            ev.out.link("INTEL", "USED_IN", vid, report, iso(when))
            ev.out.link("INTEL", "USED_BY", vid, rid, iso(when))


def _intel_record(ev: Events, when: dt.datetime, summary: str) -> str:
    """A report graded 3x5x2; one from before 2016 also keeps its original 5x5x5 grading."""
    rng = ev.rng
    data: dict[str, Any] = {
        "reference": f"WYP/INT/{when.year}/{ev.serial(f'int{when.year}'):06d}",
        "occurred_from": iso(when - dt.timedelta(hours=rng.randint(1, 96))),
        "reported_at": iso(when),
        "summary": summary,
        "priority": rng.choices(("LOW", "MEDIUM", "HIGH"), (70, 25, 5))[0],
    }
    handling = None
    if when < LEGACY_BEFORE:
        source = rng.choices("ABCDE", (5, 30, 25, 5, 35))[0]
        intelligence = rng.choices("12345", (10, 35, 30, 20, 5))[0]
        handling = rng.choices("12345", (45, 20, 5, 20, 10))[0]
        data["legacy_grading"] = {"source": source, "intelligence": intelligence, "handling": handling}
        data.update(
            source_evaluation=LEGACY_SOURCE[source],
            intelligence_assessment=LEGACY_INTELLIGENCE[intelligence],
            handling_code="P" if handling in "12" else "C",
        )
        if handling in LEGACY_CONDITIONS:
            data["handling_conditions"] = LEGACY_CONDITIONS[handling]
    else:
        data.update(
            source_evaluation=rng.choices("123", (30, 60, 10))[0],
            intelligence_assessment=rng.choices("ABCDE", (30, 25, 30, 12, 3))[0],
            handling_code="C" if rng.random() < 0.2 else "P",
        )
        if data["handling_code"] == "C":
            data["handling_conditions"] = rng.choice(CONDITIONS)
    if rng.random() < 0.6:
        data["source_reference"] = f"SRC-{rng.randrange(10000, 99999)}"  # protected: only ever here
    record_handling = handling if handling in ("4", "5") else data["handling_code"]
    return ev.out.record(
        "INTEL",
        "intelligence_report",
        "I",
        data,
        classification="OFFICIAL-SENSITIVE",
        handling=record_handling,
        conditions=data.get("handling_conditions") if record_handling == "C" else None,
    )
