"""An import's worker process ends with its import on systems without Linux's death signal.

Real processes: a parent forks a worker that watches it (`watch_parent`), and the parent is killed with
SIGKILL, as `kill -9` of an import would. Linux's own death signal is tested by the import killed mid-way
in test_crash.py; this is the fallback the worker uses elsewhere, run here on whatever system runs the
tests. It reads process states from /proc, so it needs Linux to observe them. And where processes cannot
fork at all, an import does without a worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openrms.ingest import worker
from openrms.ingest.service import import_source
from openrms.store.database import Database
from tests.ingest.test_import_cli import street_slice

NO_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")

PARENT = """
import os, sys, time
from openrms.ingest.worker import watch_parent

parent = os.getpid()
child = os.fork()
if child == 0:
    watch_parent(parent, every=0.05)
    time.sleep(120)  # a worker blocked on its source
    os._exit(3)
print(child, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    """Whether `pid` is a live process: not gone, and not a zombie its new parent has yet to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait_until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


@NO_PROC
def test_a_watching_worker_ends_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        time.sleep(0.3)  # several looks at a live parent: the watch must not end the worker then
        assert _running(child), "the worker ended while its parent was alive"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert _wait_until(lambda: not _running(child), seconds=20), "the worker outlived its killed parent"
    finally:
        parent.kill()
        parent.wait()
        if "child" in locals() and _running(child):
            os.kill(child, signal.SIGKILL)


def test_where_processes_cannot_fork_an_import_maps_in_its_own_process(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no fork: an import must not try to start its worker there (it would fail with "cannot
    find context for 'fork'"), but read and map in the process that writes."""
    monkeypatch.setattr(worker, "CAN_FORK", False)
    forked: list[object] = []
    monkeypatch.setattr(worker, "mapped_in_child", lambda batches: forked.append(batches))
    path, _ = street_slice(tmp_path, 50)
    for workers in (None, 1):
        report = import_source(sqlite_db, path, "police-uk", workers=workers)
        assert report.status == "completed" and report.tally.rows["read"] == 50
    assert forked == []
