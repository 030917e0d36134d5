"""Import figures (issue: imports from legacy systems).

    python -m benchmarks.bench_import [--skip-memory] [--only-memory] [--memory-gb 1.0]

1. The three data.police.uk files (87,000 rows) through the full path (parse, map, validate, store, search
   index, master index) with the built-in police-uk mapping, in rows per second, on SQLite and PostgreSQL.
2. Peak memory (resident, the import process and its worker together) importing a generated CSV of
   about 1 GB, sampled from /proc while `openrms import` runs.
3. The cost of the full path as a ratio against a raw bulk insert of the same rows in the same run.
4. The time SQLite itself spends in the import's statements, as rows per second: the ceiling the data
   model sets on any writer, however little Python surrounds the statements.
5. The engine's floor: SQLite copying, table to table inside itself, exactly the rows the import wrote into
   a new database of the same schema, with no Python between rows at all. An import must write at least
   these rows, so no writer, however little Python it ran, could beat this rate on this data model.
6. The processor time each row costs, in the writer and its worker process together, beside what the
   machine's cores allow a row at 20,000 rows/s: however the work were shared out, a rate needs at least
   that little.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from benchmarks.common import Figure, postgres_database, print_table, sqlite_database
from openrms.demo.policeuk import DATA_DIR
from openrms.demo.synthetic.tables import name_pools
from openrms.ingest.service import import_source
from openrms.store import migrate
from openrms.store.database import Database

CORES = os.cpu_count() or 1

MAPPING = """
name: bench-people
source: {format: csv}
agency: BENCH
source_system: WIDE
records:
  person:
    entity: person
    key: "{ref}"
    fields:
      forenames: forename
      surname: surname
      date_of_birth: {from: dob, date: ["%d/%m/%Y"]}
  report:
    entity: intelligence_report
    key: "{ref}/report"
    fields:
      summary: summary
      narrative: narrative
      source_evaluation: {const: "2"}
      intelligence_assessment: {const: C}
      handling_code: {const: P}
links:
  - {type: SUBJECT, from: person, to: report, key: "{ref}/subject"}
"""


def police_files(scratch: Path) -> list[Path]:
    out = []
    for packed in sorted(DATA_DIR.glob("*.csv.gz")):
        target = scratch / packed.name.removesuffix(".gz")
        target.write_bytes(gzip.decompress(packed.read_bytes()))
        out.append(target)
    return out


def import_rate(db: Database, files: list[Path]) -> tuple[float, float, int]:
    """Rows per second, the processor time each row took in the import's two processes together (the
    writer and its worker, which has ended and been waited for by the time an import returns), and rows."""
    rows, started, cpu = 0, time.perf_counter(), _cpu_seconds()
    for path in files:
        report = import_source(db, path, "police-uk")
        rows += report.tally.rows["read"]
    return rows / (time.perf_counter() - started), (_cpu_seconds() - cpu) / rows * 1e6, rows


def _cpu_seconds() -> float:
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def statement_rate(db: Database, files: list[Path]) -> float:
    """The same import, timing only what the database engine does: the driver's execute and executemany
    calls (SQLAlchemy's cursor events around them), as rows per second. No import can write faster than
    this, whatever the Python around the statements costs: it is the ceiling the data model sets."""
    spent = [0.0]

    def before(conn: Any, *args: Any) -> None:
        conn.info["bench.started"] = time.perf_counter()

    def after(conn: Any, *args: Any) -> None:
        spent[0] += time.perf_counter() - conn.info.pop("bench.started")

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        rows = sum(import_source(db, path, "police-uk").tally.rows["read"] for path in files)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    return rows / spent[0]


# The tables an import of police.uk writes, parents first, and the FTS5 index filled from search_text.
_WRITTEN = (
    "master",
    "record",
    "record_version",
    "link",
    "link_version",
    "search_doc",
    "search_text",
    "search_term",
)


def engine_floor_rate(imported: Path, rows: int, scratch: Path) -> float:
    """Rows per second at which SQLite itself, with no Python between rows, writes what the import of
    `rows` source rows wrote into `imported`: each table copied by one INSERT ... SELECT into a new
    database of the same schema (with its indexes), in the order the import's ids give (random, as they
    are hashes), then the full-text index. One transaction, as favourable as a writer could be.

    Each copy has a `WHERE` clause, and foreign keys are on as an import has them: a bare `INSERT INTO t
    SELECT * FROM u` into an empty table of the same shape makes SQLite copy u's B-tree pages as they are
    (its transfer optimisation), which is no insert at all: it made this figure some 40% too fast (31,000
    against 22,700 rows/s in one run on 2026-12-05; foreign keys then take it to 20,300)."""
    fresh = Database(f"sqlite:///{scratch}/floor.db")
    migrate.upgrade(fresh)
    fresh.dispose()
    con = sqlite3.connect(scratch / "floor.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA cache_size=-32768")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("ATTACH DATABASE ? AS imported", (str(imported),))
    started = time.perf_counter()
    con.execute("BEGIN")
    for table in _WRITTEN:
        con.execute(f"INSERT INTO main.{table} SELECT * FROM imported.{table} WHERE 1")
    con.execute("INSERT INTO main.search_fts (rowid, body) SELECT doc, body FROM main.search_text")
    con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return rows / elapsed


def raw_rate(files: list[Path], scratch: Path) -> float:
    """The same rows parsed by the csv module and executemany'd into one plain SQLite table: the floor."""
    con = sqlite3.connect(scratch / "raw.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE raw (crime_id, month, reported_by, falls_within, longitude, latitude, location, "
        "lsoa_code, lsoa_name, crime_type, outcome, context)"
    )
    rows, started = 0, time.perf_counter()
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            batch = list(reader)
        con.execute("BEGIN")
        con.executemany("INSERT INTO raw VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", batch)
        con.execute("COMMIT")
        rows += len(batch)
    return rows / (time.perf_counter() - started)


def wide_csv(path: Path, gigabytes: float) -> int:
    rng = random.Random(3)
    words = [
        "suspect",
        "seen",
        "leaving",
        "premises",
        "vehicle",
        "blue",
        "estate",
        "heading",
        "north",
        "towards",
        "town",
        "centre",
    ]
    # People named as a real population is (weighted British forenames and surnames): with a handful of
    # names every record would share its name and birthday with hundreds, and the master index's blocks
    # would hold far more than real data gives them.
    names = name_pools()
    target, rows = int(gigabytes * 1024**3), 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "forename", "surname", "dob", "summary", "narrative"])
        while handle.tell() < target:
            narrative = " ".join(rng.choice(words) for _ in range(150))
            gender = "M" if rng.random() < 0.5 else "F"
            writer.writerow(
                [
                    f"R{rows}",
                    names[gender](rng),
                    names["surname"](rng),
                    f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2005)}",
                    "report " + str(rows),
                    narrative,
                ]
            )
            rows += 1
    return rows


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children, from /proc."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        return 0
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def memory_peak_mb(scratch: Path, gigabytes: float) -> tuple[float, int, float]:
    source, mapping = scratch / "wide.csv", scratch / "bench-people.yaml"
    rows = wide_csv(source, gigabytes)
    mapping.write_text(MAPPING, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "openrms.cli",
        "import",
        str(source),
        "--mapping",
        str(mapping),
        "--db",
        f"sqlite:///{scratch}/wide.db",
        "--json",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.2)
    if process.returncode != 0:
        raise SystemExit(f"import of the wide CSV failed with exit code {process.returncode}")
    return peak / 1024, rows, time.perf_counter() - started


def rate_figures(scratch: Path) -> list[Figure]:
    files = police_files(scratch)
    with sqlite_database() as db:
        rate, cpu_per_row, rows = import_rate(db, files)
        floor = engine_floor_rate(Path(make_url(db.url).database or ""), rows, scratch)
    with sqlite_database() as db:
        ceiling = statement_rate(db, files)
    raw = raw_rate(files, scratch)
    figures = [
        Figure("police.uk import, rows/s, SQLite (87k rows)", ">= 20,000", f"{rate:,.0f}", rate >= 20000),
        Figure(
            "raw bulk insert of the same rows, rows/s (SQLite, no validation)",
            "reported",
            f"{raw:,.0f}",
            None,
        ),
        Figure("full path cost vs raw insert (raw rate / full rate)", "reported", f"{raw / rate:.1f}x", None),
        Figure(
            "SQLite's own time in the import's statements, the driver's calls included, as rows/s",
            "reported",
            f"{ceiling:,.0f}",
            None,
        ),
        Figure(
            "SQLite copying the rows the import wrote, inside the engine with no Python, as rows/s "
            "(the data model's own floor)",
            "reported",
            f"{floor:,.0f}",
            None,
        ),
        Figure(
            f"processor time a row, writer and worker together (20,000 rows/s on {CORES} cores allows "
            f"{CORES / 20000 * 1e6:.0f} µs)",
            "reported",
            f"{cpu_per_row:.0f} µs",
            None,
        ),
    ]
    with postgres_database() as pg:
        if pg is not None:
            pg_rate, _, _ = import_rate(pg, files)
            figures.append(
                Figure("police.uk import, rows/s, PostgreSQL", "reported", f"{pg_rate:,.0f}", None)
            )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-memory", action="store_true", help="leave out the large-CSV memory figure")
    parser.add_argument("--only-memory", action="store_true", help="only the large-CSV memory figure")
    parser.add_argument("--memory-gb", type=float, default=1.0)
    args = parser.parse_args()
    figures = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        if not args.only_memory:
            figures += rate_figures(scratch)
        if not args.skip_memory:
            peak, rows, seconds = memory_peak_mb(scratch, args.memory_gb)
            name = f"peak memory importing a {args.memory_gb:g} GB CSV ({rows:,} rows, {seconds:.0f} s)"
            figures.append(Figure(name, "< 500 MB", f"{peak:,.0f} MB", peak < 500))
    return 0 if print_table("OpenRMS import benchmarks", figures) else 1


if __name__ == "__main__":
    sys.exit(main())
