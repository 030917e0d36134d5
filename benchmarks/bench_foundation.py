"""Foundation figures (issue: the POLE record store): bulk creation rate, API read latency, demo load time.

    python benchmarks/bench_foundation.py [--people 100000] [--skip-demo]

Prints one table; exits 1 if a figure misses its target. Timings are for this machine at this moment:
run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.asgi import time_requests
from benchmarks.common import Figure, p95, postgres_database, print_table, sqlite_database
from openrms.store.database import Database
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, bulk_write

FORENAMES = ["John", "Mary", "Mohammed", "Olivia", "Jack", "Amelia", "Harry", "Isla", "Oliver", "Ava"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Khan", "Davies", "Evans", "Patel"]


def people(count: int, tag: str) -> list[NewRecord]:
    """Realistic person records: names, date of birth, gender, often a valid PNC ID."""
    rng = random.Random(42)
    prov = Provenance("WYP", "BENCH", "bench")
    items = []
    for i in range(count):
        data = {
            "forenames": rng.choice(FORENAMES),
            "surname": rng.choice(SURNAMES),
            "date_of_birth": f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "gender": rng.choice("MF"),
        }
        if i % 3 == 0:
            data["pnc_id"] = "2001/0123456F"
        items.append(
            NewRecord(
                "person", data, Provenance(prov.agency, prov.source_system, prov.recorded_by, f"{tag}-{i}")
            )
        )
    return items


def bulk_rate_in_child(url: str, count: int, master_index: bool) -> float:
    """`bulk_rate` in a fresh process: the store alone, or with the master index resolving every record as
    it is written (its write hook is registered by importing `openrms.identity.hooks`)."""
    code = (
        ("import openrms.identity.hooks\n" if master_index else "")
        + "from benchmarks.bench_foundation import bulk_rate\n"
        + "from openrms.store.database import Database\n"
        + f"print(bulk_rate(Database({url!r}), {count}, {'indexed' if master_index else 'bulk'!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def bulk_rate(db: Database, count: int, tag: str = "bulk") -> float:
    items = people(count, tag)
    started = time.perf_counter()
    counts = bulk_write(db, items, upsert=False)
    elapsed = time.perf_counter() - started
    assert counts["created"] == count, counts
    return count / elapsed


def read_p95(db: Database, count: int = 10000, reads: int = 3000) -> float:
    outcomes: list[str] = []
    bulk_write(db, people(count, "read"), on_batch=lambda batch: outcomes.extend(o.id for o in batch))
    rng = random.Random(1)
    paths = [f"/records/{rng.choice(outcomes)}" for _ in range(reads)]
    from openrms.api.app import create_app  # registers the master index's write hook: after the bulk figures

    return p95(time_requests(create_app(db), paths))


def demo_seconds() -> float:
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "openrms.cli", "demo", "--no-serve", "--db", str(Path(scratch) / "d.db")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100000)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    figures = []
    for master_index in (False, True):
        with sqlite_database() as db:
            rate = bulk_rate_in_child(db.url, args.people, master_index)
        what = "with real-time master index" if master_index else "store"
        figures.append(
            Figure(
                f"bulk create persons/s, {what}, SQLite ({args.people:,})",
                "reported" if master_index else ">= 20,000",
                f"{rate:,.0f}",
                None if master_index else rate >= 20000,
            )
        )
    with sqlite_database() as db:
        latency = read_p95(db)
        figures.append(
            Figure("GET /records/{id} p95, in-process, SQLite", "< 5 ms", f"{latency:.2f} ms", latency < 5)
        )
    with postgres_database() as pg:
        if pg is not None:
            for master_index in (False, True):
                rate = bulk_rate_in_child(pg.url, args.people, master_index)
                what = "with real-time master index" if master_index else "store"
                figures.append(
                    Figure(
                        f"bulk create persons/s, {what}, PostgreSQL ({args.people:,})",
                        "reported",
                        f"{rate:,.0f}",
                        None,
                    )
                )
            latency = read_p95(pg)
            figures.append(
                Figure("GET /records/{id} p95, in-process, PostgreSQL", "reported", f"{latency:.2f} ms", None)
            )
    if not args.skip_demo:
        seconds = demo_seconds()
        figures.append(
            Figure(
                "openrms demo --no-serve (87k crimes + 20k people)",
                "< 60 s",
                f"{seconds:.1f} s",
                seconds < 60,
            )
        )
    return 0 if print_table("OpenRMS foundation benchmarks", figures) else 1


if __name__ == "__main__":
    sys.exit(main())
