"""Detentions in the custody system, kept within PACE: for a person's suspect roles, or one unrelated arrest.

A detention is authorised soon after arrival, reviewed within 6 then every 9 hours, and ends within 24 hours,
a superintendent's extension to 36, or a magistrates' warrant; its custody record carries the log of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openrms.demo.synthetic.crimes import crime_code
from openrms.demo.synthetic.draws import Weighted, iso
from openrms.demo.synthetic.events import Events
from openrms.demo.synthetic.shape import CUSTODY_SHARE
from openrms.demo.synthetic.tables import DISPOSALS, OFFENCES, SUITE_OF, SUITES
from openrms.demo.synthetic.truth import Person

_DISPOSALS = Weighted(DISPOSALS)


def custody(ev: Events, p: Person) -> None:
    """Detentions of a person in the custody system: for some of their suspect roles, or one unrelated."""
    rid = p.copy_in("CUSTODY")
    if rid is None:
        return
    rng = ev.rng
    arrests = [(index, when) for index, role, when in p.roles if role in ("SUSPECT", "OFFENDER")]
    chosen: list[tuple[int | None, dt.datetime]] = [a for a in arrests if rng.random() < CUSTODY_SHARE]
    if not chosen and arrests:
        chosen = [rng.choice(arrests)]
    elif not chosen and (when := ev.r.since(p, 10, 10)):
        chosen = [(None, when)]
    for index, when in chosen:
        arrested = when if index is None else when + dt.timedelta(minutes=rng.randint(20, 14 * 24 * 60))
        arrested = min(arrested, ev.r.latest - dt.timedelta(days=6))  # released before `today`
        if arrested < when:
            continue
        crime_type = rng.choice(list(OFFENCES)) if index is None else crime_code(ev.crimes[index].crime_type)
        cid = _custody_record(ev, p, arrested, crime_type)
        ev.out.link("CUSTODY", "DETAINED_PERSON", rid, cid, iso(arrested))
        if index is not None:
            ev.out.link("CUSTODY", "RELATES_TO", cid, ev.crimes[index].record_id)


def _custody_record(ev: Events, p: Person, arrested: dt.datetime, crime_type: str) -> str:
    """A detention within PACE: reviews within 6 then every 9 hours, release within the clock."""
    rng, hour = ev.rng, dt.timedelta(hours=1)
    arrived = arrested + dt.timedelta(minutes=rng.randint(15, 75))
    authorised = arrived + dt.timedelta(minutes=rng.randint(10, 50))
    suite = SUITE_OF.get(p.address.town, "LD")
    number = f"{suite}/{ev.serial(f'{suite}{arrived.year}'):05d}/{arrived.year % 100:02d}"
    codes, reason = OFFENCES.get(crime_type, OFFENCES["OTHER_CRIME"])
    sergeant, inspector = str(rng.randint(1000, 9999)), str(rng.randint(1000, 9999))
    data: dict[str, Any] = {
        "reference": number,
        "custody_number": number,
        "custody_suite": SUITES[suite],
        "arrested_at": iso(arrested),
        "arrived_at": iso(arrived),
        "relevant_time": iso(arrived),
        "detention_authorised_at": iso(authorised),
        "detention_authorised_by": sergeant,
        "reason_for_arrest": reason,
        "offence_codes": [rng.choice(codes)],
        "intoxicated": rng.random() < 0.25,
        "occurred_from": iso(arrested),
        "reported_at": iso(arrived),
    }
    kind = rng.random()
    if kind < 0.9:  # most are out within the 24 hours
        minutes = rng.randint(120, 23 * 60 + 30)
    elif kind < 0.985:  # a superintendent's extension to 36 hours
        data["extension_authorised_to"] = iso(arrived + 36 * hour)
        minutes = rng.randint(24 * 60 + 30, 35 * 60 + 30)
    else:  # a magistrates' warrant of further detention
        warrant = rng.choice((60, 72, 96))
        data["extension_authorised_to"] = iso(arrived + 36 * hour)
        data["warrant_of_further_detention_to"] = iso(arrived + warrant * hour)
        minutes = rng.randint(37 * 60, (warrant - 1) * 60)
    released = arrived + dt.timedelta(minutes=minutes)
    reviews, due = [], authorised + 6 * hour
    while due < released:
        reviewed = due - dt.timedelta(minutes=rng.randint(5, 90))
        reviews.append(
            {
                "reviewed_at": iso(reviewed),
                "reviewed_by": inspector,
                "decision": "Continued detention authorised: enquiries ongoing, interview pending.",
            }
        )
        due = reviewed + 9 * hour
    disposal = _DISPOSALS(rng)
    data.update(released_at=iso(released), disposal=disposal, occurred_to=iso(released))
    if reviews:
        data["reviews"] = reviews
    log = [
        {
            "at": iso(arrived),
            "entry": "Detainee booked in; rights and entitlements given.",
            "by": sergeant,
        },
        {
            "at": iso(authorised),
            "by": sergeant,
            "entry": "Detention authorised to secure and preserve "
            "evidence and to obtain evidence by questioning.",
        },
    ]
    if data["intoxicated"]:
        log.append(
            {
                "at": iso(authorised + dt.timedelta(minutes=30)),
                "by": sergeant,
                "entry": "Intoxicated: rousing visits every 30 minutes.",
            }
        )
    log.append(
        {
            "at": iso(released),
            "entry": f"Released: {disposal.replace('_', ' ').lower()}.",
            "by": sergeant,
        }
    )
    data["log"] = log
    return ev.out.record("CUSTODY", "custody", "C", data)
