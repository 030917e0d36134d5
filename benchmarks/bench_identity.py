"""Master index figures (issue: identity resolution): accuracy against Splink, batch speed, real-time checks.

    python -m benchmarks.bench_identity [--records 1000000] [--synthetic 100000] [--workdir .bench-identity]
        [--skip-accuracy] [--skip-speed] [--skip-realtime] [--skip-postgres]

1. Accuracy: pairwise precision, recall and F1 of the clusters OpenRMS makes (features, blocking keys, a model
   trained on the data itself by unsupervised Splink EM) on FEBRL 1-4 and on our synthetic population,
   against the Splink baseline (`identity_baseline.splink_baseline`, the tutorial's training) on the same
   records in the same run.
2. Batch speed: `resolve_all` of `--records` synthetic person records in a fresh process on SQLite: wall
   time, its peak resident memory, and the F1 of the masters it leaves against the truth. The database
   (records bulk-written without the real-time write hook, then `reindex_all`) is built once and kept in
   `--workdir`; each run resolves a fresh copy of it.
3. Real time: one new person (a stored record with an edit: a surname typo, a nickname, day and month
   swapped, no day of birth, names swapped) checked against the resolved index: `match()` and POST /match
   (in-process ASGI), warm (200 warm-up checks, then 1,000 timed) and cold (the first 100 checks of a fresh
   process; cold for the process, not for the disk cache), on SQLite and on PostgreSQL (the same records
   loaded the same way into a schema of its own, dropped afterwards), with Splink 5's `predict_between` of
   one record against 50,000 as the comparison.

Prints one table; exits 1 if a figure misses its target. Progress goes to stderr. Timings are for this
machine at this moment: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from benchmarks.asgi import time_requests
from benchmarks.common import Figure, p95, postgres_database, print_table, run_child
from benchmarks.identity_baseline import pairwise_scores, splink_baseline
from benchmarks.identity_data import PERSON_KEYS, Dataset, febrl, synthetic, synthetic_fast
from openrms.identity.batch import cluster, feature_relation_sql, features_table, keys_table
from openrms.identity.features import person_features, person_keys
from openrms.store.database import Database

ROOT = Path(__file__).resolve().parent.parent
WARMUP, TIMED, COLD = 200, 1000, 100
SPLINK_RECORDS, SPLINK_CALLS = 50_000, 20
EDITS = ("surname typo", "nickname forename", "day and month swapped", "no day of birth", "names swapped")


def say(message: str) -> None:
    print(f"[bench_identity {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _scores(p: float, r: float, f1: float) -> str:
    return f"{f1:.4f} (P {p:.4f}, R {r:.4f})"


def _ms(samples: Sequence[float]) -> str:
    return f"p50 {statistics.median(samples):.2f} ms, p95 {p95(samples):.2f} ms"


# --- 1. accuracy ------------------------------------------------------------------------------------------
def openrms_labels(ds: Dataset) -> tuple[list[str], float]:
    """OpenRMS's cluster label for each record of `ds` (in its order), and the seconds it took."""
    started = time.perf_counter()
    features: list[tuple[str, dict[str, Any]]] = []
    keys: list[tuple[str, str]] = []
    for rid, data in zip(ds.ids, ds.records, strict=True):
        f = person_features(data)
        features.append((rid, f))
        keys.extend((key, rid) for key in person_keys(f))
    clustering, _ = cluster(features_table(features), keys_table(keys))
    return [clustering.cluster_of[rid] for rid in ds.ids], time.perf_counter() - started


def accuracy_figures(synthetic_records: int) -> list[Figure]:
    loaders: list[tuple[str, float, Callable[[], Dataset]]] = [
        (f"FEBRL {n}", 0.99, lambda n=n: febrl(n)) for n in (1, 2, 3, 4)
    ]
    loaders.append((f"synthetic {synthetic_records:,}", 0.95, lambda: synthetic(synthetic_records)))
    figures = []
    for name, target, load in loaders:
        say(f"accuracy: loading {name}")
        ds = load()
        say(f"accuracy: OpenRMS on {name} ({len(ds):,} records)")
        labels, seconds = openrms_labels(ds)
        ours = pairwise_scores(labels, ds.truth)
        say(f"accuracy: Splink baseline on {name}")
        labels, timings = splink_baseline(ds, preset="tutorial")
        theirs = pairwise_scores(labels, ds.truth)
        lead = ours[2] - theirs[2]
        figures += [
            Figure(
                f"F1 {name}, OpenRMS",
                f">= {target}",
                f"{_scores(*ours)}, {seconds:.1f} s",
                ours[2] >= target,
            ),
            Figure(
                f"F1 {name}, Splink baseline",
                "reported",
                f"{_scores(*theirs)}, {timings['total']:.1f} s",
                None,
            ),
            Figure(
                f"OpenRMS beats Splink on {name}",
                "yes",
                f"{'yes' if lead > 0 else 'no'} ({lead:+.4f})",
                lead > 0,
            ),
        ]
    return figures


# --- the benchmark database (built in a child process: no write hook, nothing left in memory) -------------
def _child(function: str, *args: str) -> dict[str, Any]:
    return run_child("benchmarks.bench_identity", function, *args)


def _person_data(record: dict[str, Any]) -> dict[str, Any]:
    """Only the person's own fields: no address context, no other_id, no None."""
    return {key: record[key] for key in PERSON_KEYS if record.get(key) is not None}


def load_child(url: str, records: str, truth_path: str) -> None:
    """(In a child process.) `records` synthetic_fast persons bulk-written into `url` without the write hook,
    then `reindex_all`; the truth (source key, individual) goes to `truth_path` when one is given."""
    from openrms.identity.batch import reindex_all
    from openrms.store import migrate
    from openrms.store.provenance import Provenance
    from openrms.store.records import NewRecord, bulk_write

    if "openrms.identity.hooks" in sys.modules:
        raise RuntimeError("the real-time write hook is loaded: the bulk load would resolve every record")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    ds = synthetic_fast(int(records))
    items = [
        NewRecord("person", _person_data(r), Provenance("WYP", "BENCH", "bench", rid))
        for r, rid in zip(ds.records, ds.ids, strict=True)
    ]
    if truth_path:
        Path(truth_path).write_text("".join(f"{rid}\t{t}\n" for rid, t in zip(ds.ids, ds.truth, strict=True)))
    del ds
    seconds["generate"] = time.perf_counter() - started
    say(f"load: {len(items):,} records made in {seconds['generate']:.0f} s; writing them")
    db = Database(url)
    migrate.upgrade(db)
    t = time.perf_counter()
    counts = bulk_write(db, items, upsert=False)
    seconds["write"] = time.perf_counter() - t
    if counts["created"] != len(items):
        raise RuntimeError(f"bulk_write created {counts['created']:,} of {len(items):,} records")
    del items
    say(f"load: written in {seconds['write']:.0f} s; reindex_all")
    t = time.perf_counter()
    indexed = reindex_all(db, entity_type="person")
    seconds["reindex"] = time.perf_counter() - t
    say(f"load: {indexed:,} records indexed in {seconds['reindex']:.0f} s")
    if db.dialect == "postgresql":  # fresh statistics for the planner, as after any bulk load
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE record, record_version, master, match_key, match_features")
            conn.commit()
    db.dispose()
    print(json.dumps({"records": counts["created"], "indexed": indexed, "seconds": seconds}))


def _sqlite_path(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


def _persons_in(db_path: Path) -> int:
    con = sqlite3.connect(db_path)
    try:
        return con.execute("SELECT count(*) FROM record WHERE entity_type = 'person'").fetchone()[0]
    except sqlite3.Error:
        return -1
    finally:
        con.close()


def _checkpoint(db_path: Path) -> None:
    """Fold the WAL into the database file, so the file alone is the whole database (to copy it)."""
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _remove(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def benchmark_index(workdir: Path, records: int) -> tuple[Path, Path, dict[str, Any] | None]:
    """The indexed, unresolved database of `records` persons and its truth file, built if not cached; the
    build's report when it was built in this run."""
    workdir.mkdir(parents=True, exist_ok=True)
    ignore = workdir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    db_path, truth, marker = (workdir / f"persons-{records}{ext}" for ext in (".db", ".truth.tsv", ".json"))
    cached = marker.exists() and truth.exists() and db_path.exists()
    if (
        cached
        and json.loads(marker.read_text()).get("records") == records
        and _persons_in(db_path) == records
    ):
        say(f"speed: reusing {db_path}")
        return db_path, truth, None
    say(f"speed: building {db_path} ({records:,} persons)")
    marker.unlink(missing_ok=True)
    _remove(db_path)
    built = _child("load_child", _sqlite_path(db_path), str(records), str(truth))
    _checkpoint(db_path)
    marker.write_text(json.dumps(built))
    return db_path, truth, built


# --- 2. batch speed ---------------------------------------------------------------------------------------
def resolve_child(url: str) -> None:
    """(In a child process.) `resolve_all` of the database; prints its report, time and peak memory."""
    from openrms.identity.batch import resolve_all

    db = Database(url)
    started = time.perf_counter()
    report = resolve_all(db, progress=lambda message: say(f"resolve: {message}"))
    seconds = time.perf_counter() - started
    db.dispose()
    # ru_maxrss is KB on Linux. The process's own peak, and any child's: resolve_all runs in one process
    # (DuckDB's threads included). The parent's RUSAGE_CHILDREN would also count the earlier children of the
    # benchmark (the loader holds a million records), so this process reports its own.
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(json.dumps({"report": report, "seconds": seconds, "peak_kb": peak}, default=str))


def _read_truth(path: Path) -> dict[str, str]:
    out = {}
    with path.open() as handle:
        for line in handle:
            key, _, individual = line.rstrip("\n").partition("\t")
            out[key] = individual
    return out


def masters_f1(db: Database, truth_path: Path) -> tuple[float, float, float]:
    """Pairwise scores of the masters (record.master_id) against the truth, by source key."""
    from sqlalchemy import select

    from openrms.store.tables import record

    truth = _read_truth(truth_path)
    with db.read() as conn:
        rows = conn.execute(
            select(record.c.source_key, record.c.master_id).where(
                record.c.entity_type == "person", record.c.deleted.is_(False)
            )
        ).all()
    return pairwise_scores([m for _, m in rows], [truth[k] for k, _ in rows])


def speed_figures(
    workdir: Path, records: int, db_path: Path, truth: Path, built: dict[str, Any] | None
) -> tuple[list[Figure], Path]:
    size = f"{records:,}"
    figures = []
    if built is not None:
        s = built["seconds"]
        figures.append(
            Figure(
                f"build the {size}-person index (SQLite): generate, bulk write, reindex_all",
                "reported",
                f"{sum(s.values()):.0f} s ({s['generate']:.0f} + {s['write']:.0f} + {s['reindex']:.0f})",
                None,
            )
        )
    resolved = workdir / f"resolved-{records}.db"
    (workdir / f"resolved-{records}.json").unlink(missing_ok=True)
    _remove(resolved)
    say(f"speed: copying the index to {resolved}")
    shutil.copyfile(db_path, resolved)
    say("speed: resolve_all in a fresh process")
    started = time.perf_counter()
    out = _child("resolve_child", _sqlite_path(resolved))
    wall = time.perf_counter() - started
    (workdir / f"resolved-{records}.json").write_text(json.dumps(out))
    report, peak_gb = out["report"], out["peak_kb"] / 1024**2
    steps = ", ".join(f"{k} {v:.0f}" for k, v in report.get("seconds", {}).items())
    figures += [
        Figure(
            f"batch resolution of {size} persons, wall time (SQLite, {os.cpu_count()} cores)",
            "< 180 s",
            f"{wall:.0f} s (resolve_all {out['seconds']:.0f} s: {steps})",
            wall < 180,
        ),
        Figure(
            f"batch resolution of {size} persons, peak memory", "< 8 GB", f"{peak_gb:.2f} GB", peak_gb < 8
        ),
    ]
    say("speed: scoring the masters against the truth")
    db = Database(_sqlite_path(resolved))
    try:
        p, r, f1 = masters_f1(db, truth)
    finally:
        db.dispose()
    figures.append(
        Figure(
            f"F1 of the masters after batch resolution ({size})",
            "reported",
            f"{_scores(p, r, f1)}; {report['masters_after']:,} masters, {report['pairs_scored']:,} pairs",
            None,
        )
    )
    return figures, resolved


# --- 3. real time -----------------------------------------------------------------------------------------
def _typo(word: str, rng: random.Random) -> str:
    """One keying error past the first letter: a letter changed, dropped, doubled or two swapped."""
    if len(word) < 3:
        return word + "e"
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("change", "drop", "double", "swap"))
    if kind == "change":
        letter = rng.choice([c for c in "aeiourstnl" if c != word[i].lower()])
        return word[:i] + letter + word[i + 1 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[: i + 1] + word[i:]
    swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return swapped if swapped != word else word[:i] + word[i + 1 :]


@cache
def _nicknames() -> Any:
    from nicknames import NickNamer

    return NickNamer()


def _nickname(forename: str, rng: random.Random) -> str | None:
    known = sorted(
        n for n in _nicknames().nicknames_of(forename.lower()) if n.isalpha() and n != forename.lower()
    )
    return rng.choice(known).title() if known else None


def edited(data: dict[str, Any], kind: str, rng: random.Random) -> dict[str, Any] | None:
    """What an officer might type for the person of `data` (names, date of birth, gender), with one edit of
    `kind`; None when the edit does not apply to this record."""
    query = {key: data[key] for key in ("forenames", "surname", "date_of_birth", "gender") if key in data}
    first = str(query["forenames"]).split()[0]
    year, month, day = (int(part) for part in str(query["date_of_birth"]).split("-"))
    if kind == "surname typo":
        query["surname"] = _typo(str(query["surname"]), rng)
    elif kind == "nickname forename":
        nickname = _nickname(first, rng)
        if nickname is None:
            return None
        query["forenames"] = nickname
    elif kind == "day and month swapped":
        if day > 12 or day == month:
            return None
        query["date_of_birth"] = f"{year:04d}-{day:02d}-{month:02d}"
    elif kind == "no day of birth":
        query["date_of_birth"] = f"{year:04d}-{month:02d}"
    else:  # names swapped
        query["forenames"], query["surname"] = query["surname"], first
    return query


def make_queries(db: Database, count: int, seed: int = 5) -> list[tuple[str, dict[str, Any]]]:
    """(source record id, query) pairs: stored persons with a full date of birth, each edited, the edits
    taken in turn."""
    from sqlalchemy import and_, select

    from openrms.store.tables import record, record_version

    rng = random.Random(seed)
    with db.read() as conn:
        ids = sorted(
            conn.execute(
                select(record.c.id).where(record.c.entity_type == "person", record.c.deleted.is_(False))
            ).scalars()
        )
        picked = rng.sample(ids, min(count * 3, len(ids)))
        data: dict[str, dict[str, Any]] = {}
        for start in range(0, len(picked), 500):
            rows = conn.execute(
                select(record.c.id, record_version.c.data)
                .join(
                    record_version,
                    and_(
                        record_version.c.record_id == record.c.id,
                        record_version.c.version == record.c.current_version,
                    ),
                )
                .where(record.c.id.in_(picked[start : start + 500]))
            )
            data.update({rid: d for rid, d in rows})
    out: list[tuple[str, dict[str, Any]]] = []
    for rid in picked:
        d = data[rid]
        if not (d.get("forenames") and d.get("surname") and len(str(d.get("date_of_birth") or "")) == 10):
            continue
        query = edited(d, EDITS[len(out) % len(EDITS)], rng)
        if query is not None:
            out.append((rid, query))
        if len(out) == count:
            return out
    raise RuntimeError(f"only {len(out)} of {count} queries could be made")


def _count(conn: Any) -> int:
    from sqlalchemy import func, select

    from openrms.store.tables import record

    return conn.execute(select(func.count()).where(record.c.entity_type == "person")).scalar()


def library_timings(
    db: Database, queries: Sequence[dict[str, Any]], warmup: int
) -> tuple[list[float], list[list[str]]]:
    """Milliseconds per `match()` call inside one read connection, after `warmup` untimed calls (the front
    of `queries`), and the records standing for the candidate masters of each timed call."""
    from openrms.identity.resolver import match
    from openrms.store.scope import Unrestricted

    scope = Unrestricted("bench")
    samples, answers = [], []
    with db.read() as conn:
        for query in queries[:warmup]:
            match(conn, "person", query, scope)
        for query in queries[warmup:]:
            started = time.perf_counter()
            answer = match(conn, "person", query, scope)
            samples.append((time.perf_counter() - started) * 1000)
            answers.append([c["record_id"] for c in answer["candidates"]])
    return samples, answers


def found(individual: Mapping[str, str], sources: Sequence[str], answers: Sequence[list[str]]) -> str:
    """How often a candidate (the first one) is a record of the query's individual, by the truth."""
    among = first = 0
    for rid, candidates in zip(sources, answers, strict=True):
        right = [individual[c] == individual[rid] for c in candidates]
        among += any(right)
        first += bool(right) and right[0]
    return f"right person a candidate {among / len(sources):.1%}, first {first / len(sources):.1%}"


def individuals(truth_path: Path) -> dict[str, str]:
    """Record id -> individual, for the records of the benchmark index."""
    from openrms.store.ids import record_id

    return {record_id("person", "WYP", "BENCH", k): t for k, t in _read_truth(truth_path).items()}


def api_timings(db: Database, queries: Sequence[dict[str, Any]], warmup: int) -> list[float]:
    """Milliseconds per POST /match, in-process, after `warmup` untimed requests (the front of `queries`)."""
    from openrms.api.app import create_app

    app = create_app(db)

    def body(batch: Sequence[dict[str, Any]]) -> Callable[[int], Any]:
        return lambda i: {"entity_type": "person", "data": batch[i], "limit": 10}

    if warmup:
        time_requests(app, ["/match"] * warmup, warmup=0, method="POST", body=body(queries[:warmup]))
    rest = queries[warmup:]
    return time_requests(app, ["/match"] * len(rest), warmup=0, method="POST", body=body(rest))


def cold_child(url: str, queries_path: str, how: str) -> None:
    """(In a child process.) The first checks after opening the database: `match()` or POST /match."""
    queries = json.loads(Path(queries_path).read_text())
    db = Database(url)
    if how == "library":
        samples = library_timings(db, [q for _, q in queries], warmup=0)[0]
    else:
        samples = api_timings(db, [q for _, q in queries], warmup=0)
    db.dispose()
    print(json.dumps({"samples": samples}))


def _cold(url: str, queries: Sequence[tuple[str, dict[str, Any]]], how: str, scratch: Path) -> list[float]:
    path = scratch / "cold-queries.json"
    path.write_text(json.dumps(list(queries)))
    return _child("cold_child", url, str(path), how)["samples"]


def realtime_figures(
    db: Database,
    url: str,
    label: str,
    queries: Sequence[tuple[str, dict[str, Any]]],
    individual: Mapping[str, str],
    targets: bool,
) -> list[Figure]:
    """Warm and cold `match()` and POST /match figures on one database (`url` opens it in a child)."""
    size = f"{_records(db):,}"
    say(f"real time ({label}): match() warm, {WARMUP} + {TIMED} calls")
    samples, answers = library_timings(db, [q for _, q in queries], WARMUP)
    lib = p95(samples)
    hits = found(individual, [rid for rid, _ in queries[WARMUP:]], answers)
    say(f"real time ({label}): POST /match warm")
    api = api_timings(db, [q for _, q in queries], WARMUP)
    with tempfile.TemporaryDirectory() as scratch:
        say(f"real time ({label}): cold, fresh processes")
        cold_lib = _cold(url, queries[WARMUP : WARMUP + COLD], "library", Path(scratch))
        cold_api = _cold(url, queries[WARMUP : WARMUP + COLD], "api", Path(scratch))
    return [
        Figure(
            f"match() p95, warm, one new person vs {size} ({label})",
            "< 5 ms" if targets else "reported",
            f"{lib:.2f} ms (p50 {statistics.median(samples):.2f}; {hits})",
            lib < 5 if targets else None,
        ),
        Figure(
            f"POST /match p95, warm, in-process ({label})",
            "< 20 ms" if targets else "reported",
            f"{p95(api):.2f} ms (p50 {statistics.median(api):.2f})",
            p95(api) < 20 if targets else None,
        ),
        Figure(
            f"match() cold: first {COLD} calls of a fresh process ({label})",
            "reported",
            f"{_ms(cold_lib)}, first {cold_lib[0]:.0f} ms",
            None,
        ),
        Figure(
            f"POST /match cold: first {COLD} requests of a fresh process ({label})",
            "reported",
            f"{_ms(cold_api)}, first {cold_api[0]:.0f} ms",
            None,
        ),
    ]


def _records(db: Database) -> int:
    with db.read() as conn:
        return _count(conn)


def splink_between(
    db: Database, queries: Sequence[tuple[str, dict[str, Any]]]
) -> tuple[list[float], int, int]:
    """Milliseconds per Splink `predict_between` of one query against SPLINK_RECORDS indexed records (the
    queries' sources among them) with the index's trained model (whose settings have no blocking rules, so
    every pair is scored); the records compared against, and the pairs each call scored."""
    import duckdb
    from splink import DuckDBAPI, Linker
    from sqlalchemy import Text, cast, select

    from openrms.identity.model import _quiet_splink, feature_table, train
    from openrms.identity.saved_models import current_model
    from openrms.store.tables import match_features

    calls = queries[: SPLINK_CALLS + 2]  # two untimed calls first
    sources = [rid for rid, _ in calls]
    with db.read() as conn:
        settings = current_model(conn).splink
        rows = conn.execute(
            select(match_features.c.record_id, cast(match_features.c.features, Text)).where(
                match_features.c.record_id.in_(sources)
            )
        ).all()
        rows += conn.exec_driver_sql(
            "SELECT record_id, features FROM match_features WHERE entity_type = 'person' "
            f"ORDER BY random() LIMIT {SPLINK_RECORDS + len(sources)}"
        ).all()
    rows = list(dict(rows).items())[:SPLINK_RECORDS]  # the sources first, each record once
    _quiet_splink()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("raw", features_table(rows))
    con.execute(f"CREATE TABLE records AS {feature_relation_sql('raw')}")
    con.unregister("raw")
    if not settings:  # the shipped model (an index never resolved) keeps no Splink model: train one
        settings = train(con.sql("SELECT * FROM records").to_arrow_table()).splink
    api = DuckDBAPI(connection=con)
    right = api.register("records")
    linker = Linker(right, settings, log_level=logging.ERROR)
    samples, pairs = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, (_, query) in enumerate(calls):
            started = time.perf_counter()
            left = api.register(feature_table([(f"query{index}", person_features(query))]))
            predictions = linker.inference.predict_between(left, right, warning_mode="never")
            con.sql(
                f"SELECT unique_id_r, match_probability FROM {predictions.physical_name} "
                "ORDER BY match_probability DESC LIMIT 10"
            ).fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            pairs = con.sql(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
            predictions.drop_table_from_database_and_remove_from_cache()
            if index >= 2:
                samples.append(elapsed)
    con.close()
    return samples, len(rows), pairs


def _splink_version() -> str:
    import splink

    return splink.__version__


def sqlite_realtime(
    db_path: Path, queries_out: list[tuple[str, dict[str, Any]]], individual: Mapping[str, str]
) -> list[Figure]:
    url = _sqlite_path(db_path)
    db = Database(url)
    try:
        say("real time (SQLite): making the queries")
        queries_out.extend(make_queries(db, WARMUP + TIMED))
        figures = realtime_figures(db, url, "SQLite", queries_out, individual, targets=True)
        say(f"real time: Splink predict_between, 1 vs {SPLINK_RECORDS:,}")
        samples, size, pairs = splink_between(db, queries_out[WARMUP:])
        figures.append(
            Figure(
                f"Splink {_splink_version()} predict_between, 1 record vs {size:,} (DuckDB, "
                f"{len(samples)} calls)",
                "reported",
                f"{_ms(samples)} ({pairs:,} pairs scored per call)",
                None,
            )
        )
        return figures
    finally:
        db.dispose()


def postgres_figures(
    records: int,
    model_from: Path,
    queries: list[tuple[str, dict[str, Any]]],
    individual: Mapping[str, str],
) -> list[Figure]:
    from openrms.identity.model import MatchModel
    from openrms.identity.saved_models import current_model, save_model

    with postgres_database() as pg:
        if pg is None:
            say("PostgreSQL unreachable: its figures are left out")
            return []
        say(f"PostgreSQL: loading {records:,} persons in a child process")
        built = _child("load_child", pg.url, str(records), "")
        source = Database(_sqlite_path(model_from))
        try:
            with source.read() as conn:
                model = current_model(conn)
        finally:
            source.dispose()
        if model.version:  # score with the model the SQLite index trained
            with pg.write() as conn:
                save_model(conn, MatchModel.from_document(model.as_document()), by="bench_identity")
        s = built["seconds"]
        figures = [
            Figure(
                f"load {records:,} persons into PostgreSQL: bulk write + reindex_all",
                "reported",
                f"{s['write'] + s['reindex']:.0f} s ({s['write']:.0f} + {s['reindex']:.0f})",
                None,
            )
        ]
        return figures + realtime_figures(pg, pg.url, "PostgreSQL", queries, individual, targets=False)


# --- main -------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="persons for speed and real time")
    parser.add_argument("--synthetic", type=int, default=100_000, help="synthetic records for accuracy")
    parser.add_argument("--workdir", type=Path, default=Path(".bench-identity"), help="cached databases")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument(
        "--skip-speed",
        action="store_true",
        help="no batch resolution: real time uses the last resolved copy in --workdir, else the index",
    )
    parser.add_argument("--skip-realtime", action="store_true", help="no real-time figures (nor PostgreSQL)")
    parser.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL figures")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    say(f"load average {load:.2f} on {os.cpu_count()} cores")
    figures: list[Figure] = []
    if not args.skip_accuracy:
        figures += accuracy_figures(args.synthetic)
    if not (args.skip_speed and args.skip_realtime):
        db_path, truth, built = benchmark_index(args.workdir, args.records)
        resolved = args.workdir / f"resolved-{args.records}.db"
        if not args.skip_speed:
            more, resolved = speed_figures(args.workdir, args.records, db_path, truth, built)
            figures += more
        if not (resolved.exists() and (args.workdir / f"resolved-{args.records}.json").exists()):
            say("no resolved index in the workdir: real time runs on the unresolved one (shipped model)")
            resolved = db_path
        if not args.skip_realtime:
            queries: list[tuple[str, dict[str, Any]]] = []
            individual = individuals(truth)
            figures += sqlite_realtime(resolved, queries, individual)
            if not args.skip_postgres:
                figures += postgres_figures(args.records, resolved, queries, individual)
    title = f"OpenRMS master index benchmarks ({os.cpu_count()} cores, load {load:.2f} at start)"
    return 0 if print_table(title, figures) else 1


if __name__ == "__main__":
    sys.exit(main())
