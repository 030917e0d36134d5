"""SQLite bulk writes: the write-ahead log is copied into the database by a thread of its own.

In WAL mode with synchronous=NORMAL a commit does not wait for the disk; a checkpoint does (it copies the
log into the database file and syncs both). SQLite runs it inside whichever commit takes the log past
`wal_autocheckpoint` pages, so a bulk writer (SQLite's one writer, and an import's bottleneck) stopped
every few batches to copy and sync tens of megabytes: a sixth of its time. `background_checkpoints` turns
that off for the database's connections and has a thread with its own connection checkpoint after each
commit instead, while the writer goes on with the next transaction (sqlite3 releases the GIL while it
works).

Durability is unchanged: each commit is in the log exactly as before, and a checkpoint only moves
committed pages. What is given up is a short log: a checkpoint cannot reset it while the writer is
writing, so the writer waits for the thread whenever the log has grown past `MAX_LOG_BYTES`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy.engine import make_url

MAX_LOG_BYTES = 64 << 20
log = logging.getLogger(__name__)


class Checkpoints(Protocol):
    def after_commit(self) -> None:
        """A transaction was committed: its pages may be copied into the database now."""

    def before_write(self) -> None:
        """A transaction is about to begin: wait for the copy if the log has grown too long."""


class _Nothing:
    """PostgreSQL, or an in-memory SQLite database: nothing to do."""

    def after_commit(self) -> None:
        return None

    def before_write(self) -> None:
        return None


class _Checkpointer:
    """The thread and its bookkeeping. Should it fail (the file cannot be opened, an I/O error), the hold on
    the database's checkpoints is released at once, so commits checkpoint as they always did: the import
    goes on, only slower, and the error is logged."""

    def __init__(self, path: str, release: Callable[[], None]) -> None:
        self._path = path
        self._log = f"{path}-wal"
        self._release = release
        self._released = False
        self._lock = threading.Condition()
        self._asked = 0
        self._done = 0
        self._closing = False
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="openrms-checkpoint", daemon=True)
        self._thread.start()

    def after_commit(self) -> None:
        with self._lock:
            self._asked += 1
            self._lock.notify_all()

    def before_write(self) -> None:
        try:
            size = os.path.getsize(self._log)
        except OSError:
            return
        if size > MAX_LOG_BYTES:
            with self._lock:
                self._lock.wait_for(lambda: self._done >= self._asked or self._failed)

    def close(self) -> None:
        """Finish the last checkpoint asked for, stop the thread, release the hold."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join()
        self._release_once()

    def _release_once(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._release()

    def _run(self) -> None:
        conn = None
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
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
            log.warning(
                "checkpointing %s in the background failed (%s); commits checkpoint again", self._path, exc
            )
            self._release_once()
            with self._lock:
                self._failed = True
                self._lock.notify_all()
        finally:
            if conn is not None:
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
    db.hold_checkpoints(True)
    checkpointer = _Checkpointer(path, release=lambda: db.hold_checkpoints(False))
    try:
        yield checkpointer
    finally:
        checkpointer.close()
