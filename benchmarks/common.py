"""Shared by the benchmark scripts: databases to run on, percentiles, and the results table."""

from __future__ import annotations

import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from openrms.store import migrate
from openrms.store.database import Database

PG_URL = os.environ.get("OPENRMS_BENCH_PG_URL") or os.environ.get(
    "OPENRMS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Figure:
    name: str
    target: str
    measured: str
    passed: bool | None  # None: reported only, no target


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[94]


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{scratch}/bench.db")
        migrate.upgrade(db)
        yield db
        db.dispose()


@contextmanager
def postgres_database() -> Iterator[Database | None]:
    """A fresh schema in the PostgreSQL at PG_URL, or None when it cannot be reached."""
    try:
        admin = Database(PG_URL)
        schema = f"openrms_bench_{uuid.uuid4().hex[:8]}"
        with admin.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure here means "no PostgreSQL to benchmark"
        Console(stderr=True).print(
            f"[yellow]PostgreSQL not reachable ({type(exc).__name__}); skipping it[/yellow]"
        )
        yield None
        return
    separator = "&" if "?" in PG_URL else "?"
    db = Database(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def print_table(title: str, figures: list[Figure]) -> bool:
    table = Table("figure", "target", "measured", "pass", title=title)
    for f in figures:
        mark = "n/a" if f.passed is None else ("[green]yes[/green]" if f.passed else "[red]NO[/red]")
        table.add_row(f.name, f.target, f.measured, mark)
    Console().print(table)
    return all(f.passed is not False for f in figures)


def run_child(module: str, function: str, *args: str) -> dict:
    """Run `module.function(*args)` in a fresh Python (no write hooks registered, nothing left in memory);
    it prints its result as JSON on stdout's last line. Its stderr (progress) passes through."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = f"import sys; from {module} import {function}; {function}(*sys.argv[1:])"
    path = os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH"))))
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{function} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])
