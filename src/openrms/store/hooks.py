"""Work that must happen in the same transaction as a record write, registered by higher layers.

The store cannot import the master index (it sits above the store), yet a record must be matchable the
moment its write commits. So the store calls whatever is registered here, inside the writing transaction,
with the records it just created or changed; `openrms.identity.hooks` registers the master index's blocking
keys and real-time resolution when it is imported (the API, CLI, importer and demo import it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection


class Written(NamedTuple):
    """A record as it stands after a write: `data` is None when the write retracted it. `extras` holds what
    the prepare hooks computed for it, by hook name (empty when it was not prepared here)."""

    id: str
    entity_type: str
    data: Mapping[str, Any] | None
    extras: Mapping[str, Any] = {}
    created: bool = False  # first written by this write: nothing can refer to it yet


# A write hook may move records to other masters (the master index does); it returns those moves, record id
# -> new master id, so the write's outcome names each record's master as it stands after the write.
AfterWrite = Callable[[Connection, list[Written], dt.datetime], Mapping[str, str] | None]
_after_write: list[AfterWrite] = []


def on_write(hook: AfterWrite) -> AfterWrite:
    """Register `hook` (once) to run inside every transaction that writes records."""
    if hook not in _after_write:
        _after_write.append(hook)
    return hook


# Work on a record that needs no database (the master index's features and keys), done when the record is
# prepared: in bulk loads that is in a worker process, before the write lock is taken, so the lock is held
# only for the work that needs the database.
Prepare = Callable[[str, str, Mapping[str, Any]], Any]  # (record id, entity type, data) -> extra
_on_prepare: dict[str, Prepare] = {}


def on_prepare(name: str, hook: Prepare) -> None:
    """Register `hook` to run on every record as it is prepared; its result reaches the write hooks as
    `Written.extras[name]`."""
    _on_prepare[name] = hook


def prepare_extras(record_id: str, entity_type: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    if not _on_prepare:
        return {}
    return {name: hook(record_id, entity_type, data) for name, hook in _on_prepare.items()}


# Work on a whole prepared batch that needs the links between its records but no database (the search index
# gives each event the columns of the place it happened at, so the link hook finds them right and rewrites
# nothing). Called with record id -> its extras, and the batch's links as (link type, from id, to id).
PrepareBatch = Callable[[Mapping[str, Mapping[str, Any]], Sequence[tuple[str, str, str]]], None]
_on_prepare_batch: list[PrepareBatch] = []


def on_prepare_batch(hook: PrepareBatch) -> PrepareBatch:
    """Register `hook` (once) to run on every batch of records and links prepared together (imports)."""
    if hook not in _on_prepare_batch:
        _on_prepare_batch.append(hook)
    return hook


def prepare_batch(extras: Mapping[str, Mapping[str, Any]], links: Sequence[tuple[str, str, str]]) -> None:
    for hook in _on_prepare_batch:
        hook(extras, links)


def records_written(conn: Connection, written: list[Written], now: dt.datetime) -> dict[str, str]:
    """Run the write hooks; returns the master changes they made (record id -> new master id)."""
    moved: dict[str, str] = {}
    if written:
        for hook in _after_write:
            moved.update(hook(conn, written, now) or {})
    return moved


class WrittenLink(NamedTuple):
    """A link as it stands after a write; `deleted` when the write retracted it."""

    id: str
    link_type: str
    from_id: str
    to_id: str
    deleted: bool
    created: bool = False  # first written by this write


# Link hooks run inside every transaction that writes links (the search index copies an event's place onto
# the event when its OCCURRED_AT link is written).
AfterLinks = Callable[[Connection, list[WrittenLink], dt.datetime], None]
_after_links: list[AfterLinks] = []


def on_links_write(hook: AfterLinks) -> AfterLinks:
    """Register `hook` (once) to run inside every transaction that writes links."""
    if hook not in _after_links:
        _after_links.append(hook)
    return hook


def links_written(conn: Connection, written: list[WrittenLink], now: dt.datetime) -> None:
    if written:
        for hook in _after_links:
            hook(conn, written, now)
