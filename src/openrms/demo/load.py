"""Loading the demo: the data.police.uk crimes, then a synthetic population linked to them.

Records and links go through the store's bulk paths (validated in a worker process while the database
writes). A database that already holds the demo is left as it is: `openrms demo --fresh` rebuilds it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

import openrms.identity.hooks  # every write maintains the master index
import openrms.search.hooks  # noqa: F401  (... and are findable as they load)
from openrms.demo import policeuk, showcase
from openrms.demo.accounts import create_demo_accounts
from openrms.demo.synthetic import CrimeRef, generate
from openrms.store import ids
from openrms.store.database import Database
from openrms.store.links import NewLink, bulk_write_links
from openrms.store.records import NewRecord, bulk_write
from openrms.store.tables import record

Progress = Callable[[str, int], None]  # (stage, items done since last call)


@dataclass
class DemoSummary:
    records: Counter[str] = field(default_factory=Counter)
    links: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    truth: dict[str, str] = field(default_factory=dict)
    already_loaded: bool = False


def is_loaded(db: Database) -> bool:
    with db.read() as conn:
        return (
            conn.execute(
                select(record.c.id).where(record.c.source_system == policeuk.SYSTEM).limit(1)
            ).first()
            is not None
        )


def load_demo(
    db: Database,
    people: int = 20000,
    seed: int = 7,
    progress: Progress | None = None,
    max_crimes: int | None = None,
    crimes: Callable[[policeuk.CrimeRow], bool] | None = None,
) -> DemoSummary:
    """Load the police.uk crimes and `people` synthetic people (with duplicates across systems) into `db`,
    and the showcase records the search examples find (see demo.showcase).

    `max_crimes` loads only the first rows of the police.uk files, and `crimes` only the rows it accepts
    (for tests: a small load that still has the July 2018 Leeds burglaries).
    """
    started = time.perf_counter()
    summary = DemoSummary()
    if is_loaded(db):
        summary.already_loaded = True
        return summary
    tick = progress or (lambda stage, n: None)
    rows = [row for path in policeuk.files() for row in policeuk.read(path) if crimes is None or crimes(row)]
    rows = rows[:max_crimes]
    points = {row.point.provenance.source_key: row.point for row in rows if row.point is not None}
    types = {row.event_id: row.event.entity_type for row in rows}

    def crime_records() -> Iterator[NewRecord]:
        for row in rows:
            yield row.event
        yield from points.values()

    _write_records(db, crime_records(), summary, lambda n: tick("crimes", n))
    types.update(
        {ids.record_id("point", policeuk.AGENCY, policeuk.SYSTEM, key or ""): "point" for key in points}
    )
    _write_links(db, [row.link for row in rows if row.link is not None], types, summary)
    crimes = [
        CrimeRef(row.event_id, row.month, row.latitude, row.longitude, str(row.event.data["crime_type"]))
        for row in rows
        if row.event.entity_type == "crime"
    ]
    population = generate(people=people, seed=seed, crimes=crimes)
    summary.truth = population.truth
    for item in population.records:
        types[
            ids.record_id(
                item.entity_type,
                item.provenance.agency,
                item.provenance.source_system,
                item.provenance.source_key or "",
            )
        ] = item.entity_type
    _write_records(db, iter(population.records), summary, lambda n: tick("people", n))
    _write_links(db, population.links, types, summary)
    _write_records(db, iter(showcase.RECORDS), summary, lambda n: None)
    _write_links(
        db, showcase.LINKS, {showcase.record_id(r): r.entity_type for r in showcase.RECORDS}, summary
    )
    tick("people", len(population.links))
    create_demo_accounts(db)
    summary.seconds = time.perf_counter() - started
    return summary


def _write_records(
    db: Database, items: Iterator[NewRecord], summary: DemoSummary, tick: Callable[[int], None]
) -> None:
    def counted() -> Iterator[NewRecord]:
        for item in items:
            summary.records[item.entity_type] += 1
            yield item

    summary.outcomes.update(
        bulk_write(db, counted(), upsert=False, batch_size=10_000, on_batch=lambda batch: tick(len(batch)))
    )


def _write_links(db: Database, links: list[NewLink], types: dict[str, str], summary: DemoSummary) -> None:
    for item in links:
        summary.links[item.link_type] += 1
    bulk_write_links(db, links, types, upsert=False, batch_size=20_000)
