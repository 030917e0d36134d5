"""The entry point: generate() runs the phases in a fixed order and returns the Population.

Each phase draws from its own seeded stream (`draws.phase_rng`), so the individuals (names, dates of birth,
addresses) stay the same when only the crimes change, and nothing depends on `hash()` of a string or on set
order: the output is the same for a seed in every process.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from openrms.demo.synthetic.copies import Renderer
from openrms.demo.synthetic.crimes import CrimeRef, add_crime_roles
from openrms.demo.synthetic.custody import custody
from openrms.demo.synthetic.draws import phase_rng
from openrms.demo.synthetic.events import Events, crime_links, safeguarding, stop_search
from openrms.demo.synthetic.identifiers import add_identifiers
from openrms.demo.synthetic.intelligence import intelligence
from openrms.demo.synthetic.objects import add_objects
from openrms.demo.synthetic.people import World, add_offending, households
from openrms.demo.synthetic.relations import add_associates, write_relations
from openrms.demo.synthetic.sources import choose_systems
from openrms.demo.synthetic.truth import Person
from openrms.store.links import NewLink
from openrms.store.records import NewRecord


@dataclass
class Population:
    """The generated records and links, ready to store, with the truth to score a master index against."""

    records: list[NewRecord]
    links: list[NewLink]  # ends are in `records` or are the record ids of the crimes given
    truth: dict[str, str]  # person record id -> id of the individual it describes ('IND000123')
    stats: dict[str, int]


def generate(
    people: int = 20000, seed: int = 7, crimes: Sequence[CrimeRef] = (), today: dt.date = dt.date(2026, 11, 1)
) -> Population:
    """A synthetic population of `people` individuals, their duplicates across systems, and their links.

    Deterministic for a seed. Each phase draws from its own seeded stream, so the individuals (names, dates of
    birth, addresses) stay the same when only the crimes change. Nothing is dated on or after `today`.
    """
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of new objects and no cycles: collection passes would only cost time
    try:
        return _generate(people, seed, crimes, today)
    finally:
        if collecting:
            gc.enable()


def _generate(people: int, seed: int, crimes: Sequence[CrimeRef], today: dt.date) -> Population:
    """The phases in order: first the truth (people, offending, objects, crime roles, identifiers, systems,
    associates), then the records drawn from it (person copies, events, relationships).
    """
    latest = dt.datetime.combine(today, dt.time(), dt.UTC) - dt.timedelta(hours=1)
    persons = households(World(phase_rng(seed, "people"), today), people)
    add_offending(persons, phase_rng(seed, "offending"), today)
    add_objects(persons, phase_rng(seed, "objects"), today)
    pairs: dict[tuple[int, int], str | None] = {}  # associates: (person, person) -> month of a shared crime
    add_crime_roles(persons, crimes, phase_rng(seed, "crimes"), latest, pairs)
    add_identifiers(persons, phase_rng(seed, "identifiers"), today)
    choose_systems(persons, phase_rng(seed, "systems"))
    add_associates(persons, phase_rng(seed, "associates"), pairs)

    renderer = Renderer(persons, phase_rng(seed, "records"), today, latest)
    for p in persons:
        renderer.person_copies(p)
    by_household: dict[int, list[Person]] = {}
    associates: dict[int, list[Person]] = {}
    for p in persons:
        by_household.setdefault(p.household, []).append(p)
    for x, y in pairs:
        associates.setdefault(x, []).append(persons[y])
        associates.setdefault(y, []).append(persons[x])
    events = Events(renderer, crimes)
    for p in persons:  # the writers share the records stream: this order is part of the output
        crime_links(events, p)
        custody(events, p)
        intelligence(events, p, associates)
        stop_search(events, p, "NICHE")
        stop_search(events, p, "RMS")
        safeguarding(events, p, by_household[p.household])
    write_relations(renderer, by_household, pairs)
    return Population(
        renderer.out.records, renderer.out.links, renderer.truth, _stats(persons, renderer, events)
    )


def _stats(people: list[Person], r: Renderer, events: Events) -> dict[str, int]:
    """Counts of what was made, for the loader's report and the tests' checks of the documented shape."""
    duplicated = sum(1 for p in people if len(p.systems) > 1)
    stats: dict[str, int] = {
        "people": len(people),
        "records": len(r.out.records),
        "links": len(r.out.links),
        "person_records": len(r.truth),
        "offenders": sum(p.offender for p in people),
        "individuals_with_duplicates": duplicated,
        "duplicate_rate_permille": round(1000 * duplicated / len(people)) if people else 0,
        "person_crime_links": events.person_crime,
    }
    for prefix, counter in (
        ("records", Counter(x.entity_type for x in r.out.records)),
        ("links", Counter(x.link_type for x in r.out.links)),
        ("copies", Counter(code for p in people for code in p.systems)),
        ("errors", r.errors),
    ):
        stats.update({f"{prefix}.{key}": counter[key] for key in sorted(counter)})
    return stats
