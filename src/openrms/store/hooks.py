"""Work that must happen in the same transaction as a record write, registered by higher layers.

The store cannot import the master index (it sits above the store), yet a record must be matchable the
moment its write commits. So the store calls whatever is registered here, inside the writing transaction,
with the records it just created or changed; `openrms.identity.hooks` registers the master index's blocking
keys and real-time resolution when it is imported (the API, CLI, importer and demo import it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection


class Written(NamedTuple):
    """A record as it stands after a write: `data` is None when the write retracted it."""

    id: str
    entity_type: str
    data: Mapping[str, Any] | None


AfterWrite = Callable[[Connection, list[Written], dt.datetime], None]
_after_write: list[AfterWrite] = []


def on_write(hook: AfterWrite) -> AfterWrite:
    """Register `hook` (once) to run inside every transaction that writes records."""
    if hook not in _after_write:
        _after_write.append(hook)
    return hook


def records_written(conn: Connection, written: list[Written], now: dt.datetime) -> None:
    if written:
        for hook in _after_write:
            hook(conn, written, now)
