"""Resuming an interrupted `--from-sql` import when the query's rows have changed since.

A file is identified by its bytes, so an interrupted run resumes only on the very same rows. A query is
identified by its URL and text, and its table may change before the command is run again: a row inserted
before the checkpoint (in the query's order) pushes rows the run imported past it, and resuming after
the checkpoint would skip a row it never imported. Each checkpoint of a query's run keeps a digest of the
rows up to it; resuming checks the rows it skips, and on a mismatch reads the source again from the first
row as a new run. Interrupted as Ctrl-C would (after a commit), resumed through the `openrms` command.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from openrms.ingest.service import import_source
from openrms.store.database import Database
from openrms.store.tables import import_run
from tests.ingest.test_import_cli import PLAIN, Cli, balanced, record_count

QUERY = "SELECT name AS NAME, sex AS SEX FROM people ORDER BY id"


def _name(number: int) -> str:
    """A surname of letters only (a person's surname may not hold digits), one for each number."""
    return "Smith" + "".join(chr(ord("a") + int(digit)) for digit in str(number))


def _legacy(tmp_path: Path, people: int = 60) -> Path:
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, sex TEXT)")
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?)", [(i, _name(i), "M") for i in range(1, people + 1)]
        )
    return legacy


def _interrupted(db: Database, legacy: Path, mapping: Path) -> str:
    """Import the first 20 rows of the query, then stop as Ctrl-C would; the run's id."""

    def stop(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_source(
            db,
            f"sqlite:///{legacy}",
            mapping,
            query=QUERY,
            batch_size=20,
            commit_rows=20,
            workers=0,
            progress=stop,
        )
    with db.read() as conn:
        run = conn.execute(select(import_run)).one()
    assert (run.status, run.checkpoint) == ("running", 20) and run.checkpoint_digest
    return str(run.id)


def _resume(cli: Cli, legacy: Path, mapping: Path) -> dict:
    args = ("import", "--from-sql", f"sqlite:///{legacy}", "--query", QUERY, "--mapping", str(mapping))
    return cli.json(*args, "--batch-size", "20", "--json")


def _status(db: Database, run_id: str) -> tuple[str, str | None]:
    with db.read() as conn:
        row = conn.execute(
            select(import_run.c.status, import_run.c.error).where(import_run.c.id == run_id)
        ).one()
    return row.status, row.error


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "plain.yaml"
    path.write_text(PLAIN)
    return path


def test_an_unchanged_query_resumes_after_its_checkpoint(
    cli: Cli, db: Database, tmp_path: Path, mapping: Path
) -> None:
    legacy = _legacy(tmp_path)
    run_id = _interrupted(db, legacy, mapping)
    report = _resume(cli, legacy, mapping)
    assert (report["run_id"], report["resumed_after_row"], report["warnings"]) == (run_id, 20, [])
    assert balanced(report) == {"read": 60, "created": 60}
    assert record_count(db, source_system="PLAIN") == 60


def test_a_row_inserted_before_the_checkpoint_makes_the_import_start_again_and_lose_nothing(
    cli: Cli, db: Database, tmp_path: Path, mapping: Path
) -> None:
    legacy = _legacy(tmp_path)
    run_id = _interrupted(db, legacy, mapping)
    with sqlite3.connect(legacy) as conn:
        conn.execute("INSERT INTO people VALUES (0, 'Early', 'F')")  # first in the query's order
    report = _resume(cli, legacy, mapping)
    assert report["run_id"] != run_id and report["resumed_after_row"] == 0
    assert balanced(report) == {"read": 61, "created": 41, "unchanged": 20}
    assert record_count(db, source_system="PLAIN") == 61, "a row before the checkpoint was skipped"
    [warning] = report["warnings"]
    assert f"the source of run {run_id} gives other rows than it did in its first 20" in warning
    assert "read the source from its first row" in warning
    status, error = _status(db, run_id)
    assert status == "failed" and "gives other rows" in (error or "")
    runs = {run["id"]: run for run in cli.json("import", "runs", "--json")}
    assert runs[report["run_id"]]["warnings"] == [warning]  # kept with the run that read afresh
    again = _resume(cli, legacy, mapping)  # nothing left to resume: a plain re-import
    assert balanced(again) == {"read": 61, "unchanged": 61} and again["warnings"] == []


def test_a_query_with_fewer_rows_than_the_checkpoint_starts_again(
    cli: Cli, db: Database, tmp_path: Path, mapping: Path
) -> None:
    legacy = _legacy(tmp_path)
    run_id = _interrupted(db, legacy, mapping)
    with sqlite3.connect(legacy) as conn:
        conn.execute("DELETE FROM people WHERE id > 15")
    report = _resume(cli, legacy, mapping)
    assert report["run_id"] != run_id
    assert balanced(report) == {"read": 15, "unchanged": 15}
    assert "has 15 rows now, fewer than the 20 it had imported" in report["warnings"][0]


def test_a_changed_row_after_the_checkpoint_is_simply_read(
    cli: Cli, db: Database, tmp_path: Path, mapping: Path
) -> None:
    """Rows past the checkpoint were never read by the run: changing them is no reason to start again."""
    legacy = _legacy(tmp_path)
    run_id = _interrupted(db, legacy, mapping)
    with sqlite3.connect(legacy) as conn:
        conn.execute("UPDATE people SET sex = 'F' WHERE id = 40")
    report = _resume(cli, legacy, mapping)
    assert (report["run_id"], report["resumed_after_row"], report["warnings"]) == (run_id, 20, [])
    assert balanced(report) == {"read": 60, "created": 60}
