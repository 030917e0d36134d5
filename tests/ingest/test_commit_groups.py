"""Several batches commit in one transaction (fewer pages written per row), and that keeps the pipeline's
promise: a failure part-way through a transaction leaves the run's checkpoint, its counts and the stored
records exactly at the last commit, and running the same import again finishes it with nothing duplicated.
On SQLite the log is checkpointed by a thread during the import, and commits checkpoint as before after."""

from __future__ import annotations

import logging
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import openrms.store.records as records_module
from openrms.ingest import pipeline
from openrms.ingest.service import import_source
from openrms.store import checkpoint
from openrms.store.database import AUTOCHECKPOINT, Database
from openrms.store.tables import import_run, record
from tests.helpers import commit_checkpoints

MAPPING = textwrap.dedent(
    """
    name: groups-test
    agency: WYP
    source_system: GROUPS
    records:
      person:
        entity: person
        key: "{Id}"
        fields: {surname: Surname, forenames: Forenames}
    """
)
BATCH = 100
ROWS = 1_000


def _files(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "people.csv"
    surnames, forenames = ["Smith", "Jones", "Khan", "Patel", "Brown"], ["Ann", "Omar", "Liam"]
    lines = ["Id,Surname,Forenames"] + [
        f"P{n},{surnames[n % 5]},{forenames[n % 3]}" for n in range(1, ROWS + 1)
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "groups.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return source, mapping


def _people(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(record)).scalar_one()


def test_a_failure_mid_transaction_leaves_the_last_commit(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, mapping = _files(tmp_path)
    monkeypatch.setattr(pipeline, "COMMIT_ROWS", 300)
    monkeypatch.setattr(pipeline, "COMMIT_SECONDS", 1e9)
    real = records_module.write_prepared
    calls = {"n": 0}

    def failing_sixth(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "write_prepared", failing_sixth)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_source(db, source, mapping, batch_size=BATCH, workers=0)
    # SQLite commits after 300 rows; PostgreSQL after batch 1 and batch 3, where its statistics are
    # refreshed (the tables had doubled). Batch 6 failed inside the transaction holding batches 4-6, so
    # the last commit is batch 3's on both.
    with db.read() as conn:
        run = conn.execute(select(import_run)).one()
    assert run.status == "failed" and "disk on fire" in run.error
    assert run.checkpoint == 3 * BATCH
    assert run.counts["rows"] == {"read": 3 * BATCH, "created": 3 * BATCH}
    assert _people(db) == 3 * BATCH

    monkeypatch.setattr(pipeline, "write_prepared", real)
    report = import_source(db, source, mapping, batch_size=BATCH, workers=0)
    assert report.status == "completed" and report.tally.balanced()
    assert report.tally.rows == {"read": ROWS, "created": ROWS - 3 * BATCH, "unchanged": 3 * BATCH}
    assert _people(db) == ROWS


def test_commits_group_batches_yet_count_and_checkpoint_every_row(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, mapping = _files(tmp_path)
    commits = commit_checkpoints(monkeypatch)
    monkeypatch.setattr(pipeline, "COMMIT_SECONDS", 1e9)
    report = import_source(db, source, mapping, batch_size=BATCH)
    assert report.tally.rows == {"read": ROWS, "created": ROWS}
    # One save (and commit) per transaction. SQLite commits at the end of the file (it is shorter than
    # COMMIT_ROWS); PostgreSQL also wherever its statistics are refreshed: after 100 rows (the tables were
    # empty), then 300 and 700, each time they had doubled.
    assert commits == ([ROWS] if db.dialect == "sqlite" else [100, 300, 700, ROWS])
    assert _people(db) == ROWS


def _log_frames(path: str) -> int:
    """Frames in the SQLite log now (mxFrame of the wal-index header, which sits at the start of -shm in
    the machine's byte order)."""
    return int.from_bytes(Path(f"{path}-shm").read_bytes()[16:20], sys.byteorder)


def test_sqlite_log_is_checkpointed_during_an_import_and_by_commits_after(
    db: Database, tmp_path: Path
) -> None:
    if db.dialect != "sqlite":
        return  # PostgreSQL has no write-ahead log of the client's to checkpoint
    source, mapping = _files(tmp_path)
    report = import_source(db, source, mapping, batch_size=BATCH)
    assert report.status == "completed"
    # Commits never checkpoint during the import, so only the thread's checkpoints let the log start over:
    # the last write (closing the run) found it all copied and began again at frame 1.
    assert _log_frames(make_url(db.url).database) < 20
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == AUTOCHECKPOINT


def test_a_failing_checkpoint_thread_leaves_checkpoints_to_commits(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if db.dialect != "sqlite":
        return  # PostgreSQL has no write-ahead log of the client's to checkpoint

    def unopenable(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(checkpoint.sqlite3, "connect", unopenable)
    source, mapping = _files(tmp_path)
    with caplog.at_level(logging.WARNING, logger="openrms.store.checkpoint"):
        report = import_source(db, source, mapping, batch_size=BATCH)
    assert report.status == "completed" and report.tally.rows == {"read": ROWS, "created": ROWS}
    assert "commits checkpoint again" in caplog.text
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == AUTOCHECKPOINT
