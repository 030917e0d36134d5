"""Events in the individuals' lives, each recorded in the system that holds it, and what their writers share.

Here: crime roles (links in NICHE, one named again in the prosecutor's case file), stop and search (NICHE or
RMS) and safeguarding concerns (NICHE). Detentions are in `custody`, intelligence reports in `intelligence`.
generate() calls the writers person by person in a fixed order, all drawing from the records stream.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from openrms.demo.synthetic.copies import Renderer
from openrms.demo.synthetic.crimes import CrimeRef
from openrms.demo.synthetic.draws import Weighted, iso
from openrms.demo.synthetic.sources import SOURCE_SYSTEMS
from openrms.demo.synthetic.tables import (
    SAFEGUARDING,
    STOP_GROUNDS,
    STOP_LEGISLATION,
    STOP_OBJECT,
    STOP_OUTCOMES,
)
from openrms.demo.synthetic.truth import Person

_STOP_LEGISLATION, _STOP_OUTCOMES = Weighted(STOP_LEGISLATION), Weighted(STOP_OUTCOMES)


class Events:
    """What the event writers share: the renderer (its stream and output), the crimes, and serial numbers."""

    def __init__(self, r: Renderer, crimes: Sequence[CrimeRef]) -> None:
        self.r, self.rng, self.out, self.crimes = r, r.rng, r.out, crimes
        self.serials: Counter[str] = Counter()
        self.person_crime = 0

    def serial(self, series: str) -> int:
        """The next number in a series of references (a custody suite's year, the intelligence year...)."""
        self.serials[series] += 1
        return self.serials[series]


def crime_links(ev: Events, p: Person) -> None:
    """The person's crime roles, in NICHE; the prosecutor's case file names one of them again."""
    for index, role, _ in p.roles:
        crime = ev.crimes[index]
        ev.out.link("NICHE", role, p.copy_in("NICHE", ev.rng) or "", crime.record_id, crime.month)
        ev.person_crime += 1
    cms = p.copy_in("CMS")
    if cms and p.roles:
        charged = [r for r in p.roles if r[1] in ("OFFENDER", "SUSPECT")] or p.roles
        index, role, _ = ev.rng.choice(charged)
        ev.out.link("CMS", role, cms, ev.crimes[index].record_id, ev.crimes[index].month)
        ev.person_crime += 1


def stop_search(ev: Events, p: Person, code: str) -> None:
    """Stop and searches by West (NICHE) or North (RMS) Yorkshire officers, mostly of offenders."""
    rid = p.copy_in(code)
    if rid is None:
        return
    rng = ev.rng
    if code == "RMS":
        chance = 0.25
    else:
        chance = 0.3 if p.offender else 0.03 if p.gender == "M" and p.age_on(ev.r.today) < 30 else 0.005
    while rng.random() < chance:
        chance /= 3
        when = ev.r.since(p, 10, 10)
        if when is None:
            return
        legislation = _STOP_LEGISLATION(rng)
        target = rng.choice(STOP_OBJECT[legislation])
        outcome = _STOP_OUTCOMES(rng)
        if outcome == "KHAT_CANNABIS_WARNING" and target != "DRUGS":
            outcome = "NFA"
        agency = SOURCE_SYSTEMS[code].agency
        data = {
            "reference": f"{agency}/SS/{when.year}/{ev.serial(f'ss{code}{when.year}'):06d}",
            "occurred_from": iso(when),
            "occurred_to": iso(when + dt.timedelta(minutes=rng.randint(5, 25))),
            "reported_at": iso(when + dt.timedelta(minutes=rng.randint(30, 180))),
            "legislation": legislation,
            "object_of_search": target,
            "grounds": STOP_GROUNDS[target].format(street=p.address.street),
            "outcome": outcome,
            "officer_collar_number": str(rng.randint(1000, 9999)),
        }
        ev.out.link(code, "SUBJECT", rid, ev.out.record(code, "stop_search", "S", data), iso(when))


def safeguarding(ev: Events, p: Person, household: list[Person]) -> None:
    """A few safeguarding concerns (more for children); domestic abuse names the partner as subject."""
    rid = p.copy_in("NICHE")
    rng = ev.rng
    if rid is None or rng.random() >= (0.06 if p.age_on(ev.r.today) < 18 else 0.02):
        return
    when = ev.r.since(p, 10, 8)
    if when is None:
        return
    if p.age_on(when.date()) < 18:
        concern = rng.choice(("CHILD_ABUSE", "CHILD_EXPLOITATION", "MISSING_CHILD"))
    else:
        concern = rng.choices(
            ("DOMESTIC_ABUSE", "MENTAL_HEALTH", "ADULT_AT_RISK", "MODERN_SLAVERY"), (50, 30, 17, 3)
        )[0]
    referred, action = SAFEGUARDING[concern]
    data = {
        "reference": f"WYP/SG/{when.year}/{ev.serial(f'sg{when.year}'):05d}",
        "occurred_from": iso(when),
        "reported_at": iso(when + dt.timedelta(hours=rng.randint(1, 48))),
        "concern_type": concern,
        "risk_level": rng.choices(("STANDARD", "MEDIUM", "HIGH"), (55, 33, 12))[0],
        "referred_to": referred,
        "action_taken": action,
    }
    concern_id = ev.out.record("NICHE", "safeguarding_concern", "G", data)
    ev.out.link("NICHE", "VULNERABLE_PERSON", rid, concern_id, iso(when))
    if concern == "DOMESTIC_ABUSE":
        for other in household:
            partner = other.copy_in("NICHE")
            if other.n != p.n and other.role in ("spouse", "partner") and partner:
                ev.out.link("NICHE", "SUBJECT", partner, concern_id, iso(when))
                break
