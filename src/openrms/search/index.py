"""The search index in the database, kept in the same transaction as the records and links it describes.

`on_records_written` is the store's write hook (registered by `openrms.search.hooks`): each written record's
entry (filter columns, keys, free text) replaces the one it had, and a retracted record's entry is removed,
before the write commits. `on_links_written` copies a place's coordinates and area onto the events that
OCCURRED_AT it. Master membership is not copied into the index at all: search joins `record.master_id` when
it runs, so merges and unmerges show at once.

`build_index` (re)builds the whole index from the stored records in batches, for databases written before
the index existed or without the hook (bulk benchmarks).
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, select

from openrms.search.terms import Doc, doc_id, doc_of, geo_columns
from openrms.store.bulk import Encoder, by_key, insert_tuples
from openrms.store.hooks import Written, WrittenLink
from openrms.store.tables import link, record, record_version, search_doc, search_term, search_text

CHUNK = 500
OCCURRED_AT = "OCCURRED_AT"
_DOC_COLUMNS = tuple(c.name for c in search_doc.columns)
_GEO = ("lat", "lon", "cell", "cell10", "area", "area_code")
# String columns' widths: values are cut to fit, so an unusually long code or name never fails a write.
_WIDTH = {c.name: c.type.length for c in search_doc.columns if getattr(c.type, "length", None)}


def prepare(record_id: str, entity_type: str, data: Any) -> Doc | None:
    """The prepare hook: the entry is computed outside the write lock (in a worker during bulk loads)."""
    return doc_of(record_id, entity_type, data)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """record id -> the terms stored for it, for those of `ids` already indexed."""
    found: dict[str, str] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(search_doc.c.record_id, search_doc.c.terms).where(search_doc.c.record_id.in_(chunk))
        )
        found.update({rid: terms or "" for rid, terms in rows})
    return found


def remove(conn: Connection, ids: Sequence[str]) -> None:
    """Forget the index entries of `ids` (those that have one)."""
    old = _existing(conn, ids)
    if not old:
        return
    pairs = [(term, rid) for rid, terms in old.items() for term in terms.split("\n") if term]
    if pairs:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(f"DELETE FROM search_term WHERE term = {mark} AND record_id = {mark}", pairs)
    gone = sorted(old)
    for chunk in _chunks(gone):
        if conn.dialect.name == "sqlite":  # external content: FTS5 is told the old text to forget
            marks = ", ".join("?" * len(chunk))
            conn.exec_driver_sql(
                "INSERT INTO search_fts (search_fts, rowid, body) "
                f"SELECT 'delete', doc, body FROM search_text WHERE record_id IN ({marks})",
                tuple(chunk),
            )
        conn.execute(delete(search_doc).where(search_doc.c.record_id.in_(chunk)))
        conn.execute(delete(search_text).where(search_text.c.record_id.in_(chunk)))


def _places(conn: Connection, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """For events, the geo columns of the first live place each OCCURRED_AT (by link id)."""
    out: dict[str, dict[str, Any]] = {}
    place = search_doc.alias("place")
    for chunk in _chunks(event_ids):
        rows = conn.execute(
            select(link.c.from_id, place.c.lat, place.c.lon, place.c.area, place.c.area_code)
            .join(place, place.c.record_id == link.c.to_id)
            .where(
                link.c.from_id.in_(chunk),
                link.c.link_type == OCCURRED_AT,
                link.c.deleted.is_(False),
                place.c.lat.is_not(None),
            )
            .order_by(link.c.from_id, link.c.id)
        )
        for event, lat, lon, area, area_code in rows:
            if event not in out:
                out[event] = {**geo_columns(lat, lon), "area": area, "area_code": area_code}
    return out


_EMPTY_ROW = dict.fromkeys(_DOC_COLUMNS)


def _doc_row(d: Doc, place: dict[str, Any] | None, enc: Encoder) -> tuple[Any, ...]:
    """The search_doc row of an entry: its columns (cut to their widths), then its place's (stored, so
    already cut), in the table's column order."""
    cols = _EMPTY_ROW.copy()
    for name, value in d.columns.items():
        width = _WIDTH.get(name)
        if width is not None and value.__class__ is str and len(value) > width:
            value = value[:width]
        cols[name] = value
    if place:
        cols.update(place)
    cols["record_id"], cols["entity_type"], cols["category"] = d.record_id, d.entity_type, d.category
    cols["terms"] = "\n".join(d.terms)
    if cols["hate"] is not None:
        cols["hate"] = enc.bool(cols["hate"])
    if len(cols) != len(_EMPTY_ROW):  # a column the table lacks: left out, as the table would
        return tuple(cols[name] for name in _DOC_COLUMNS)
    return tuple(cols.values())


def write_docs(
    conn: Connection,
    docs: Sequence[Doc],
    drop: Sequence[str] = (),
    created: frozenset[str] = frozenset(),
    *,
    fresh: bool = False,
) -> None:
    """Replace the entries of `docs` and remove those of `drop`, in the caller's transaction.

    Records in `created` were first written by this transaction: they have no entry and no links yet, so
    nothing is looked up for them (a bulk load of new records does no reads here). `fresh` is for a full
    build: the index holds no entry for `docs` and no event yet, so nothing is removed or refreshed (events
    still take their places' coordinates).
    """
    if not fresh:
        remove(conn, [d.record_id for d in docs if d.record_id not in created] + list(drop))
    if not docs:
        return
    places = _places(
        conn, [d.record_id for d in docs if d.category == "event" and d.record_id not in created]
    )
    enc = Encoder(conn.dialect.name)
    rows = [_doc_row(d, places.get(d.record_id), enc) for d in docs]
    insert_tuples(conn, search_doc, by_key(rows))
    insert_tuples(conn, search_term, sorted((t, d.record_id) for d in docs for t in d.terms))
    texts = [(d.record_id, doc_id(d.record_id), d.body) for d in docs if d.body]
    insert_tuples(conn, search_text, by_key(texts))
    if conn.dialect.name == "sqlite" and texts:
        conn.exec_driver_sql(
            "INSERT INTO search_fts (rowid, body) VALUES (?, ?)", by_key(t[1:] for t in texts)
        )
    # A place written or changed: the events that happened there move with it.
    places_written = [d.record_id for d in docs if d.category == "location" and d.record_id not in created]
    if places_written and not fresh:
        refresh_event_places(conn, _events_at(conn, places_written))


def _events_at(conn: Connection, place_ids: Sequence[str]) -> list[str]:
    events: set[str] = set()
    for chunk in _chunks(place_ids):
        events.update(
            conn.execute(
                select(link.c.from_id).where(
                    link.c.to_id.in_(chunk), link.c.link_type == OCCURRED_AT, link.c.deleted.is_(False)
                )
            ).scalars()
        )
    return sorted(events)


def _stored_geo(conn: Connection, event_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """For indexed events, the place columns their entries hold now."""
    out: dict[str, tuple[Any, ...]] = {}
    columns = [search_doc.c[c] for c in _GEO]
    for chunk in _chunks(event_ids):
        rows = conn.execute(select(search_doc.c.record_id, *columns).where(search_doc.c.record_id.in_(chunk)))
        out.update({row[0]: tuple(row[1:]) for row in rows})
    return out


def refresh_event_places(conn: Connection, event_ids: Sequence[str]) -> None:
    """Copy (or clear) the place columns of indexed events from the places they OCCURRED_AT.

    Only entries whose columns differ are rewritten: an import gives a new event its place's columns
    before the write (`place_events`), and rewriting a row that is already right costs as much as
    writing it did."""
    if not event_ids:
        return
    places = _places(conn, event_ids)
    stored = _stored_geo(conn, event_ids)
    empty = dict.fromkeys(_GEO)
    params = []
    for event in event_ids:
        now = stored.get(event)
        wanted = tuple(places.get(event, empty)[c] for c in _GEO)
        if now is not None and now != wanted:
            params.append((*wanted, event))
    if params:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        sets = ", ".join(f"{c} = {mark}" for c in _GEO)
        conn.exec_driver_sql(f"UPDATE search_doc SET {sets} WHERE record_id = {mark}", params)


def place_events(extras: Mapping[str, Mapping[str, Any]], links: Sequence[tuple[str, str, str]]) -> None:
    """The prepare-batch hook: an event OCCURRED_AT a place prepared in the same batch takes the place's
    columns into its entry now, in the worker, so the writer's link hook finds it right and rewrites
    nothing. Only a shortcut: the link hook still checks every event against its stored places."""
    done: set[str] = set()
    for link_type, from_id, to_id in links:
        if link_type != OCCURRED_AT or from_id in done:
            continue
        done.add(from_id)
        event = extras.get(from_id, {}).get("search")
        place = extras.get(to_id, {}).get("search")
        if event is None or place is None or event.category != "event" or place.columns.get("lat") is None:
            continue
        event.columns = {**event.columns, **{c: place.columns.get(c) for c in _GEO}}
        event.placed_at = to_id


def on_records_written(conn: Connection, written: list[Written], now: dt.datetime) -> None:
    """The store's write hook: index what was written, forget what was retracted."""
    docs: list[Doc] = []
    drop: list[str] = []
    created = frozenset(w.id for w in written if getattr(w, "created", False))
    for w in written:
        if w.data is None:
            drop.append(w.id)
            continue
        d = w.extras["search"] if "search" in w.extras else doc_of(w.id, w.entity_type, w.data)
        if d is not None:
            docs.append(d)
        else:
            drop.append(w.id)
    write_docs(conn, docs, drop, created)
    placed = {d.record_id: d.placed_at for d in docs if d.placed_at is not None and d.record_id in created}
    conn.info[_PLACED] = (conn.get_transaction(), placed)


# Where `on_records_written` leaves, for the link hook that follows it in the same transaction, the events
# it has just created whose entries already hold their place's columns (see `_placed_already`).
_PLACED = "openrms.search.placed"


def on_links_written(conn: Connection, written: list[WrittenLink], now: dt.datetime) -> None:
    """The store's link hook: an event's place changes when an OCCURRED_AT link is written or retracted."""
    placed = _placed_already(conn, written)
    events = sorted({w.from_id for w in written if w.link_type == OCCURRED_AT} - placed)
    refresh_event_places(conn, events)


def _placed_already(conn: Connection, written: list[WrittenLink]) -> set[str]:
    """Events whose entries need no refresh: created by the record write just before these links, in the
    same transaction, with their place's columns copied on in the worker (`place_events`), and given here
    their one and only OCCURRED_AT link, a new one, to that very place. Nothing else can have linked an
    event that did not exist before this transaction, so the entry holds what a refresh would write.
    An import's events are nearly all such, and checking each against its stored place was a tenth of the
    writer's time."""
    transaction, placed = conn.info.pop(_PLACED, (None, {}))
    if not placed or transaction is not conn.get_transaction():
        return set()
    links: dict[str, list[WrittenLink]] = {}
    for w in written:
        if w.link_type == OCCURRED_AT:
            links.setdefault(w.from_id, []).append(w)
    return {
        event
        for event, mine in links.items()
        if len(mine) == 1 and mine[0].created and not mine[0].deleted and placed.get(event) == mine[0].to_id
    }


# Secondary indexes a full build drops and makes again at the end: one sorted pass each is far cheaper than
# keeping two dozen B-trees (and PostgreSQL's GIN index) up to date row by row.
_PG_TEXT_INDEX = "CREATE INDEX IF NOT EXISTS ix_search_text_tsv ON search_text USING gin (tsv)"


def _drop_indexes(conn: Connection) -> None:
    for ix in search_doc.indexes:
        ix.drop(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_search_text_tsv")


def _create_indexes(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    for ix in search_doc.indexes:
        ix.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_TEXT_INDEX)
        conn.exec_driver_sql("ANALYZE search_doc, search_term, search_text")
    else:
        conn.exec_driver_sql("ANALYZE search_doc")
        conn.exec_driver_sql("ANALYZE search_term")
        conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('optimize')")


def _pages(db: Any, events: bool, batch: int) -> list[tuple[str, str]]:
    """(after, upto] record id ranges of about `batch` live records each, of events or of the rest."""
    category = record.c.category == "event" if events else record.c.category != "event"
    bounds: list[str] = [""]
    with db.read() as conn:
        rows = conn.execute(
            select(record.c.id).where(category, record.c.deleted.is_(False)).order_by(record.c.id)
        ).scalars()
        count = 0
        last = ""
        for rid in rows:
            count += 1
            last = rid
            if count % batch == 0:
                bounds.append(rid)
    if count % batch:
        bounds.append(last)
    return list(itertools.pairwise(bounds))


def _index_page(db: Any, events: bool, after: str, upto: str) -> int:
    """Index the live records of one id range; returns how many."""
    category = record.c.category == "event" if events else record.c.category != "event"
    with db.read() as conn:
        rows = conn.execute(
            select(record.c.id, record.c.entity_type, record_version.c.data)
            .join(
                record_version,
                and_(
                    record_version.c.record_id == record.c.id,
                    record_version.c.version == record.c.current_version,
                ),
            )
            .where(category, record.c.deleted.is_(False), record.c.id > after, record.c.id <= upto)
        ).all()
    docs = [d for rid, etype, data in rows if (d := doc_of(rid, etype, data)) is not None]
    with db.write() as conn:
        write_docs(conn, docs, fresh=True)
    return len(docs)


_CHILD_DB: Any = None


def _start_child(url: str) -> None:
    global _CHILD_DB
    from openrms.store.database import Database

    _CHILD_DB = Database(url)  # the child's own engine: the parent's connections are never touched


def _child_page(page: tuple[bool, str, str]) -> int:
    return _index_page(_CHILD_DB, *page)


def build_index(db: Any, *, batch: int = 5000, progress: Any = None, workers: int | None = None) -> int:
    """(Re)build the whole search index from the stored records; returns the records indexed.

    Places and everything else first, events last (so each event finds its place's coordinates). Reads in
    pages by record id, each page indexed in its own transaction. On PostgreSQL with two or more cores (or
    `workers` > 0) two forked processes index pages side by side; SQLite uses one. The index's secondary
    indexes are dropped for the build and made again at the end, so searches are slow (and incomplete)
    until it returns.
    """
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) > 1 and db.dialect == "postgresql" else 0
    if db.dialect == "sqlite":
        # Two SQLite processes reading and writing side by side always leave a reader on the WAL, so it is
        # never reset and grows without bound (61 GB for 4.5 million records): one process only.
        workers = 0
    with db.write() as conn:
        conn.execute(delete(search_term))
        conn.execute(delete(search_text))
        conn.execute(delete(search_doc))
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
        _drop_indexes(conn)
    done = 0
    try:
        for events in (False, True):
            pages = _pages(db, events, batch)
            if workers > 0 and len(pages) > 1:
                context = multiprocessing.get_context("fork")
                with context.Pool(workers, initializer=_start_child, initargs=(db.url,)) as pool:
                    for count in pool.imap_unordered(_child_page, [(events, a, b) for a, b in pages]):
                        done += count
                        if progress is not None:
                            progress(count)
            else:
                for after, upto in pages:
                    count = _index_page(db, events, after, upto)
                    done += count
                    if progress is not None:
                        progress(count)
    finally:
        with db.write() as conn:
            _create_indexes(conn)
    return done


__all__ = [
    "build_index",
    "on_links_written",
    "on_records_written",
    "place_events",
    "refresh_event_places",
    "write_docs",
]
