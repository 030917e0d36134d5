"""Bulk writes by two forked processes that each validate, encode and write their own batches.

On SQLite only one transaction writes at a time, so while one process holds the write lock the other
validates its next batch: both cores work and nothing is pickled on the way in (the children read their
batches from the memory they inherited at fork). Sending prepared rows back to one writer was tried
first and was slower: the pickling and the result threads competed with the writer for the GIL.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from openrms.store.database import Database

_ITEMS: Sequence[Any] = ()
_URL = ""
_DB: Database | None = None


def _start_child() -> None:
    global _DB
    _DB = Database(_URL)  # the child's own engine and connection; the parent's are never touched


def _write_batch(start: int, end: int, upsert: bool) -> list[tuple[str, str, str, int, str]]:
    from openrms.store.records import prepare, write_prepared

    if _DB is None:
        raise RuntimeError("bulk writer child was not started")
    now = dt.datetime.now(dt.UTC)
    prepared = prepare(_ITEMS[start:end], now, _DB.dialect)
    with _DB.write() as conn:
        outcomes = write_prepared(conn, prepared, now, upsert=upsert)
    return [(o.id, o.entity_type, o.status, o.version, o.master_id) for o in outcomes]


def write_in_processes(
    db: Database,
    items: Sequence[Any],
    *,
    batch_size: int,
    upsert: bool,
    processes: int,
    on_batch: Callable[[list[Any]], None] | None,
) -> Counter[str]:
    """Write `items` in batches across `processes` forked writers; batches commit independently, so an
    invalid batch raises BatchInvalid while others may already be committed (re-running is idempotent)."""
    from openrms.store.records import WriteOutcome

    global _ITEMS, _URL
    _ITEMS, _URL = items, db.url
    counts: Counter[str] = Counter()
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(processes, initializer=_start_child) as pool:
            pending = [
                pool.apply_async(_write_batch, (start, min(start + batch_size, len(items)), upsert))
                for start in range(0, len(items), batch_size)
            ]
            for result in pending:
                outcomes = [WriteOutcome(*row) for row in result.get()]
                counts.update(o.status for o in outcomes)
                if on_batch is not None:
                    on_batch(outcomes)
    finally:
        _ITEMS, _URL = (), ""
    return counts
