"""SQLite bulk writes: the write-ahead log is copied into the database by a thread of its own.

In WAL mode with synchronous=NORMAL a commit does not wait for the disk; a checkpoint does (it copies the
log into the database file and syncs both). SQLite runs it inside whichever commit takes the log past
`wal_autocheckpoint` pages, so a bulk writer (SQLite's one writer, and an import's bottleneck) stopped
every few batches to copy and sync tens of megabytes: a sixth of its time. `background_checkpoints` turns
that off for the database's connections and has a thread with its own connection checkpoint after each
batch instead, while the writer goes on with the next one (sqlite3 releases the GIL while it works).

Durability is unchanged: each commit is in the log exactly as before, and a checkpoint only moves
committed pages. What is given up is a short log: a checkpoint cannot reset it while the writer is
writing, so the writer waits for the thread whenever the log has grown past `MAX_LOG_BYTES`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy.engine import make_url

MAX_LOG_BYTES = 64 << 20


class Checkpoints(Protocol):
    def after_commit(self) -> None:
        """A batch was committed: its pages may be copied into the database now."""

    def before_write(self) -> None:
        """A batch is about to be written: wait for the copy if the log has grown too long."""


class _Nothing:
    """PostgreSQL, or an in-memory SQLite database: nothing to do."""

    def after_commit(self) -> None:
        return None

    def before_write(self) -> None:
        return None


class _Checkpointer:
    def __init__(self, path: str) -> None:
        self._path = path
        self._log = f"{path}-wal"
        self._lock = threading.Condition()
        self._asked = 0
        self._done = 0
        self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="openrms-checkpoint", daemon=True)
        self._thread.start()

    def after_commit(self) -> None:
        with self._lock:
            self._raise_error()
            self._asked += 1
            self._lock.notify_all()

    def before_write(self) -> None:
        try:
            size = os.path.getsize(self._log)
        except OSError:
            return
        if size > MAX_LOG_BYTES:
            self._wait()

    def close(self, *, check: bool = True) -> None:
        """Finish the last checkpoint asked for, then stop the thread (raising what stopped it if `check`)."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join()
        if check:
            self._raise_error()

    def _wait(self) -> None:
        with self._lock:
            self._lock.wait_for(lambda: self._done >= self._asked or self._error is not None)
            self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"checkpointing {self._path} failed: {self._error}") from self._error

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            with self._lock:
                self._error = exc
                self._lock.notify_all()
            return
        try:
            while True:
                with self._lock:
                    self._lock.wait_for(lambda: self._asked > self._done or self._closing)
                    target = self._asked
                    if target == self._done and self._closing:
                        return
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                with self._lock:
                    self._done = target
                    self._lock.notify_all()
        except sqlite3.Error as exc:
            with self._lock:
                self._error = exc
                self._lock.notify_all()
        finally:
            conn.close()


@contextmanager
def background_checkpoints(db: Any) -> Iterator[Checkpoints]:
    """For the duration of a bulk write to `db` (a store.database.Database): on a SQLite file, commits no
    longer checkpoint; the writer calls `after_commit` after each commit and `before_write` before the next
    transaction. On exit the last checkpoint is finished and the database's connections checkpoint as
    before (once no other bulk write holds them)."""
    path = make_url(db.url).database if db.dialect == "sqlite" else None
    if not path or path == ":memory:":
        yield _Nothing()
        return
    checkpointer = _Checkpointer(path)
    db.hold_checkpoints(True)
    try:
        yield checkpointer
    except BaseException:
        db.hold_checkpoints(False)
        checkpointer.close(check=False)  # the write's own error is the one to report
        raise
    db.hold_checkpoints(False)
    checkpointer.close()
