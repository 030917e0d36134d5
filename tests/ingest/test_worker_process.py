"""The worker process reads the source as well as mapping it: what it finds wrong reaches the caller as the
very error it raised, a database source is read from it while the writer's checkpoint thread runs, and no
process is left behind, whether the import ends well or not."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from openrms.ingest import runs
from openrms.ingest.readers import SourceError
from openrms.ingest.service import import_source
from openrms.store.database import Database


def _runs(db: Database) -> list[dict]:
    with db.read() as conn:
        return runs.list_runs(conn)


def test_a_source_failing_in_the_worker_fails_the_import_with_its_own_error(
    db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "wrong-root.xml"
    source.write_text("<?xml version='1.0'?>\n<Other><Report id='1'/></Other>\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        import_source(db, source, "intel-xml-5x5x5", workers=1)
    assert "the root element is <Other>" in caught.value.detail
    assert caught.value.status == 400  # still the API's 400 and the CLI's usage error, not a crash
    [run] = _runs(db)
    assert run["status"] == "failed" and "the root element is <Other>" in run["error"]
    assert multiprocessing.active_children() == []


def test_a_database_source_is_read_by_the_worker_process(db: Database, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as con:
        con.execute("CREATE TABLE people (ref TEXT, surname TEXT)")
        con.executemany("INSERT INTO people VALUES (?, ?)", [(f"P{n}", "Smith") for n in range(5000)])
    mapping = tmp_path / "people.yaml"
    mapping.write_text(
        textwrap.dedent(
            """
            name: legacy-people
            agency: WYP
            source_system: LEGACY
            records:
              person: {entity: person, key: "{ref}", fields: {surname: surname}}
            """
        ),
        encoding="utf-8",
    )
    for _ in range(2):  # the second run finds every row unchanged
        report = import_source(
            db, f"sqlite:///{legacy}", mapping, query="SELECT * FROM people", workers=1, batch_size=500
        )
        assert report.tally.rows["read"] == 5000
    assert report.tally.rows["unchanged"] == 5000, report.as_dict()
    assert report.tally.records == {"person": {"unchanged": 5000}}
    assert multiprocessing.active_children() == []


# An import whose worker blocks reading its source (a pipe nobody writes to, a query that waits on a lock):
# the worker prints its pid and would sleep for an hour.
_BLOCKED_IMPORT = """
import multiprocessing, time
from openrms.ingest import worker

def batches():
    time.sleep(3600)
    yield []

with worker.mapped_in_child(batches) as mapped:
    print(multiprocessing.active_children()[0].pid, flush=True)
    next(mapped)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has ended: only its exit status is left


def test_the_worker_dies_with_an_import_killed_with_sigkill() -> None:
    if not sys.platform.startswith("linux"):
        return  # the parent-death signal is Linux's; elsewhere the worker ends at its next send
    process = subprocess.Popen([sys.executable, "-c", _BLOCKED_IMPORT], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    worker_pid = int(process.stdout.readline())
    assert _alive(worker_pid)
    try:
        process.kill()
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker_pid), "the worker outlived the import killed with SIGKILL"
    finally:
        if _alive(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)
