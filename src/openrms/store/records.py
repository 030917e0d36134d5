"""Writing records: create, update with optimistic concurrency, idempotent bulk upsert, and retraction.

Every write validates against the registry first and writes nothing unless the whole batch is valid. A
record's content hash makes re-importing an unchanged row a no-op; a changed row becomes a new version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Select, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from openrms.errors import BatchInvalid, Conflict, Issue, NotFound, RecordInvalid
from openrms.schema import registry, validator
from openrms.store import ids
from openrms.store.bulk import Encoder, by_key, insert_tuples
from openrms.store.database import Database
from openrms.store.hooks import Written, prepare_extras, records_written
from openrms.store.provenance import Provenance, ProvenanceChecker
from openrms.store.tables import MAX_VERSION, master, record, record_version

CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class NewRecord:
    entity_type: str
    data: Mapping[str, Any]
    provenance: Provenance


@dataclass
class WriteOutcome:
    id: str
    entity_type: str
    status: str  # "created", "updated" or "unchanged"
    version: int
    master_id: str
    warnings: list[Issue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity_type": self.entity_type,
            "status": self.status,
            "version": self.version,
            "master_id": self.master_id,
            "warnings": [w.as_dict() for w in self.warnings],
        }


@dataclass(slots=True)
class PreparedRecord:
    """A validated record with its three rows encoded for the target dialect, ready for executemany.

    Built by `prepare`, which touches no database, so a worker process can build them while the main
    process writes the previous batch (see `bulk_write`).
    """

    id: str
    entity_type: str
    source_key: str
    content_hash: str
    master_id: str
    warnings: list[Issue]
    classification: str
    handling: str
    master_row: tuple[Any, ...]
    record_row: tuple[Any, ...]
    version_row: tuple[Any, ...]  # as version 1; `_next_version` puts the real number in column 1
    data: Mapping[str, Any]  # the validated data, for the write hooks (the master index's keys)
    extras: Mapping[str, Any]  # what the prepare hooks computed (store.hooks)


def content_hash(data: Mapping[str, Any], provenance: Provenance) -> str:
    payload = orjson.dumps(
        [data, provenance.classification, provenance.handling, provenance.handling_conditions],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def _ref(entity_type: str, prov: Provenance, source_key: str | None, index: int | None = None) -> str:
    where = (
        f"{prov.agency}/{prov.source_system}/{source_key}"
        if source_key
        else f"(new, {prov.agency}/{prov.source_system})"
    )
    return f"{entity_type} {where}" + (f" (item {index})" if index is not None else "")


class Preparer:
    """Validates and encodes records one at a time for one dialect and one moment.

    `prepare` uses it for whole batches; the import pipeline calls it per row so that one bad record
    quarantines its row instead of failing the batch. It touches no database, so it can run in a worker.
    """

    def __init__(self, now: dt.datetime, dialect: str) -> None:
        self.now = now
        self._reg = registry()
        self._enc = Encoder(dialect)
        self._checked = ProvenanceChecker()
        self._now, self._false = self._enc.time(now), self._enc.bool(False)

    def __call__(self, item: NewRecord, index: int | None = None) -> PreparedRecord:
        """The encoded record, or RecordInvalid naming it (and `index` in its batch) with every issue."""
        etype = self._reg.entity_types.get(item.entity_type)
        if etype is None:
            known = ", ".join(sorted(self._reg.entity_types))
            raise RecordInvalid(
                f"item {index}" if index is not None else "record",
                [
                    Issue(
                        "entity_type",
                        "entity_type",
                        f"unknown entity type {item.entity_type!r}; known: {known}",
                    )
                ],
            )
        prov, source_key = self._checked(item.provenance)
        clean, issues = validator(item.entity_type).issues(item.data, self.now)
        if issues and any(i.severity == "error" for i in issues):
            raise RecordInvalid(_ref(item.entity_type, prov, item.provenance.source_key, index), issues)
        enc, now, false = self._enc, self._now, self._false
        record_id = ids.record_id(item.entity_type, prov.agency, prov.source_system, source_key)
        master_id = ids.master_id_for(record_id)
        digest = content_hash(clean, prov)
        recorded_at = enc.time(prov.recorded_at) if prov.recorded_at else now
        return PreparedRecord(
            record_id,
            item.entity_type,
            source_key,
            digest,
            master_id,
            issues,
            prov.classification,
            prov.handling,
            # master: id, entity_type, created_at, status, merged_into
            (master_id, item.entity_type, now, "active", None),
            # record: id, entity_type, category, agency, source_system, source_key, created_at,
            # created_by, current_version, updated_at, classification, handling, master_id, deleted,
            # content_hash
            (
                record_id,
                item.entity_type,
                etype.category,
                prov.agency,
                prov.source_system,
                source_key,
                recorded_at,
                prov.recorded_by,
                1,
                now,
                prov.classification,
                prov.handling,
                master_id,
                false,
                digest,
            ),
            # record_version: record_id, version, data, recorded_at, recorded_by, classification,
            # handling, handling_conditions, deleted, reason, warnings
            (
                record_id,
                1,
                enc.json(clean),
                recorded_at,
                prov.recorded_by,
                prov.classification,
                prov.handling,
                prov.handling_conditions,
                false,
                prov.reason,
                enc.json([w.as_dict() for w in issues]) if issues else None,
            ),
            clean,
            prepare_extras(record_id, item.entity_type, clean),
        )


def prepare(items: Sequence[NewRecord], now: dt.datetime, dialect: str) -> list[PreparedRecord]:
    """Validate and encode a batch; BatchInvalid (or RecordInvalid for one) lists every failure."""
    preparer = Preparer(now, dialect)
    prepared: list[PreparedRecord] = []
    failures: list[RecordInvalid] = []
    single = len(items) == 1
    for index, item in enumerate(items):
        try:
            prepared.append(preparer(item, None if single else index))
        except RecordInvalid as exc:
            failures.append(exc)
    if failures:
        raise failures[0] if single else BatchInvalid(failures)
    return prepared


def write_prepared(
    conn: Connection, prepared: list[PreparedRecord], now: dt.datetime, *, upsert: bool = True
) -> list[WriteOutcome]:
    """Write records made by `Preparer` (for pipelines that prepare elsewhere)."""
    if upsert:
        return _apply_upsert(conn, prepared, now)
    outcomes = _insert_new(conn, prepared)
    moved = records_written(
        conn, [Written(p.id, p.entity_type, p.data, p.extras, True) for p in prepared], now
    )
    return _with_masters(outcomes, moved)


def _with_masters(outcomes: list[WriteOutcome], moved: Mapping[str, str]) -> list[WriteOutcome]:
    """Outcomes naming each record's master after the write hooks (the master index) have run."""
    for outcome in outcomes:
        outcome.master_id = moved.get(outcome.id, outcome.master_id)
    return outcomes


def _insert_new(conn: Connection, batch: list[PreparedRecord]) -> list[WriteOutcome]:
    if not batch:
        return []
    try:
        with conn.begin_nested():  # a savepoint, so PostgreSQL can still answer which keys were taken
            insert_tuples(conn, master, by_key(p.master_row for p in batch))
            insert_tuples(conn, record, by_key(p.record_row for p in batch))
    except IntegrityError:
        taken = existing(conn, [p.id for p in batch])
        names = ", ".join(f"{p.entity_type} {p.source_key}" for p in batch if p.id in taken)
        raise Conflict(
            f"records already exist for these source keys: {names or 'unknown'}; "
            "update them (naming the version read) instead of creating them again"
        ) from None
    insert_tuples(conn, record_version, by_key(p.version_row for p in batch))
    return [WriteOutcome(p.id, p.entity_type, "created", 1, p.master_id, p.warnings) for p in batch]


def existing(conn: Connection, record_ids: Iterable[str]) -> dict[str, Any]:
    """id -> (current_version, content_hash, master_id, deleted) for those of `record_ids` that exist."""
    found: dict[str, Any] = {}
    wanted = list(record_ids)
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(
                record.c.id,
                record.c.current_version,
                record.c.content_hash,
                record.c.master_id,
                record.c.deleted,
            ).where(record.c.id.in_(wanted[start : start + CHUNK]))
        )
        found.update({row.id: row for row in rows})
    return found


def create_records(
    conn: Connection, items: Sequence[NewRecord], now: dt.datetime | None = None
) -> list[WriteOutcome]:
    """Create new records, each its own master; Conflict if any source key already has a record."""
    now = now or dt.datetime.now(dt.UTC)
    return write_prepared(conn, prepare(items, now, conn.dialect.name), now, upsert=False)


def create_record(conn: Connection, item: NewRecord, now: dt.datetime | None = None) -> WriteOutcome:
    return create_records(conn, [item], now)[0]


def upsert_records(
    conn: Connection, items: Sequence[NewRecord], now: dt.datetime | None = None
) -> list[WriteOutcome]:
    """Idempotent write for imports: new source keys are created, changed rows get a new version, others
    are left untouched."""
    now = now or dt.datetime.now(dt.UTC)
    return _apply_upsert(conn, prepare(items, now, conn.dialect.name), now)


def _apply_upsert(conn: Connection, prepared: list[PreparedRecord], now: dt.datetime) -> list[WriteOutcome]:
    stored = existing(conn, [p.id for p in prepared])
    fresh: dict[str, PreparedRecord] = {}
    outcomes: dict[str, WriteOutcome] = {}
    for p in prepared:
        row = stored.get(p.id)
        if row is None:
            fresh[p.id] = p  # a repeated key within one batch: the last one wins, as a re-import would
        elif row.content_hash == p.content_hash and not row.deleted:
            outcomes[p.id] = WriteOutcome(
                p.id, p.entity_type, "unchanged", row.current_version, row.master_id
            )
        else:
            version = _next_version(conn, p, row.current_version, now)
            outcomes[p.id] = WriteOutcome(p.id, p.entity_type, "updated", version, row.master_id, p.warnings)
    for out in _insert_new(conn, list(fresh.values())):
        outcomes[out.id] = out
    changed = {p.id: p for p in prepared if outcomes[p.id].status != "unchanged"}
    moved = records_written(
        conn, [Written(p.id, p.entity_type, p.data, p.extras, p.id in fresh) for p in changed.values()], now
    )
    return _with_masters([outcomes[p.id] for p in prepared], moved)


def bulk_write(
    db: Database,
    items: Iterable[NewRecord],
    *,
    batch_size: int = 5000,
    upsert: bool = True,
    workers: int | None = None,
    on_batch: Callable[[list[WriteOutcome]], None] | None = None,
) -> Counter[str]:
    """Write many records in batches, one transaction each; returns counts by outcome status.

    On SQLite with two or more cores (or `workers` > 0), two forked processes each validate and write
    their own batches, so one validates while the other holds the write lock (see store.parallel); there,
    batches commit independently. Otherwise batches are written in order and an invalid one raises
    BatchInvalid after the batches before it were committed. `upsert=False` refuses existing source keys
    instead of versioning them. Outcomes passed to `on_batch` carry warnings only in-process.
    """
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) > 1 and db.dialect == "sqlite" else 0
    if workers > 0 and db.dialect == "sqlite":
        items = items if isinstance(items, Sequence) else list(items)
        if len(items) > batch_size:
            from openrms.store.parallel import write_in_processes

            return write_in_processes(
                db, items, batch_size=batch_size, upsert=upsert, processes=workers, on_batch=on_batch
            )
    counts: Counter[str] = Counter()
    for number, batch in enumerate(_chunks(items, batch_size), start=1):
        now = dt.datetime.now(dt.UTC)
        _write_prepared(db, prepare(batch, now, db.dialect), now, upsert, counts, on_batch)
        if number in (1, 4) or number % 25 == 0:
            db.refresh_statistics()  # PostgreSQL: keep id lookups on the index as the tables grow
    return counts


def _write_prepared(
    db: Database,
    prepared: list[PreparedRecord],
    now: dt.datetime,
    upsert: bool,
    counts: Counter[str],
    on_batch: Callable[[list[WriteOutcome]], None] | None,
) -> None:
    with db.write() as conn:
        outcomes = write_prepared(conn, prepared, now, upsert=upsert)
    counts.update(o.status for o in outcomes)
    if on_batch is not None:
        on_batch(outcomes)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _next_version(conn: Connection, p: PreparedRecord, expected: int, now: dt.datetime) -> int:
    """Write version expected+1 if the record is still at `expected`; otherwise refuse with 409."""
    result = None
    if expected < MAX_VERSION:  # a bigger number can name no version: simply stale
        result = conn.execute(
            update(record)
            .where(and_(record.c.id == p.id, record.c.current_version == expected))
            .values(
                current_version=expected + 1,
                updated_at=now,
                classification=p.classification,
                handling=p.handling,
                content_hash=p.content_hash,
                deleted=False,
            )
        )
    if result is None or result.rowcount != 1:
        current = conn.execute(select(record.c.current_version).where(record.c.id == p.id)).scalar()
        if current is None:
            raise NotFound(f"no record {p.id}")
        raise Conflict(
            f"record {p.id} is at version {current}, not {expected}: someone else changed it. "
            "Read it again, reapply your change and send the new version number.",
            record=p.id,
            current_version=current,
            expected_version=expected,
        )
    insert_tuples(conn, record_version, [(p.version_row[0], expected + 1, *p.version_row[2:])])
    return expected + 1


def _current(conn: Connection, record_id: str) -> Any:
    row = conn.execute(
        select(record, record_version.c.data, record_version.c.handling_conditions)
        .join(
            record_version,
            and_(
                record_version.c.record_id == record.c.id,
                record_version.c.version == record.c.current_version,
            ),
        )
        .where(record.c.id == record_id)
    ).first()
    if row is None:
        raise NotFound(f"no record {record_id}")
    return row


def update_record(
    conn: Connection,
    record_id: str,
    data: Mapping[str, Any],
    expected_version: int,
    *,
    recorded_by: str,
    merge: bool = False,
    classification: str | None = None,
    handling: str | None = None,
    handling_conditions: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> WriteOutcome:
    """Write a new version. `merge` applies `data` as a patch (a None value removes a field)."""
    now = now or dt.datetime.now(dt.UTC)
    row = _current(conn, record_id)
    if merge:
        data = merge_patch(row.data, data)
    prov = Provenance(
        agency=row.agency,
        source_system=row.source_system,
        source_key=row.source_key,
        recorded_by=recorded_by,
        classification=classification or row.classification,
        handling=handling or row.handling,
        handling_conditions=handling_conditions
        if handling_conditions is not None
        else row.handling_conditions,
        reason=reason,
    )
    p = prepare([NewRecord(row.entity_type, data, prov)], now, conn.dialect.name)[0]
    if p.content_hash == row.content_hash and not row.deleted:
        if expected_version != row.current_version:
            _next_version(conn, p, expected_version, now)  # raises the 409 with the facts
        return WriteOutcome(p.id, p.entity_type, "unchanged", row.current_version, row.master_id)
    version = _next_version(conn, p, expected_version, now)
    moved = records_written(conn, [Written(p.id, p.entity_type, p.data, p.extras)], now)
    return WriteOutcome(p.id, p.entity_type, "updated", version, moved.get(p.id, row.master_id), p.warnings)


def merge_patch(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Merge Patch (RFC 7396): objects merge field by field, null removes, anything else replaces."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def live_source_records(agency: str, source_system: str, types: Sequence[str]) -> Select[tuple[str]]:
    """The ids of the live records of this agency and source system of `types`, in id order: those a
    snapshot of the source may retract."""
    return (
        select(record.c.id)
        .where(
            record.c.agency == agency,
            record.c.source_system == source_system,
            record.c.entity_type.in_(types),
            record.c.deleted.is_(False),
        )
        .order_by(record.c.id)
    )


def retract_records(
    conn: Connection,
    record_ids: Sequence[str],
    *,
    recorded_by: str,
    reason: str,
    now: dt.datetime | None = None,
) -> int:
    """Mark records deleted at their source: a tombstone version; history and links stay for the record."""
    now = now or dt.datetime.now(dt.UTC)
    retracted: list[Written] = []
    for record_id in record_ids:
        row = _current(conn, record_id)
        if row.deleted:
            continue
        version = row.current_version + 1
        conn.execute(
            update(record)
            .where(record.c.id == record_id)
            .values(current_version=version, updated_at=now, deleted=True)
        )
        conn.execute(
            insert(record_version),
            [
                {
                    "record_id": record_id,
                    "version": version,
                    "data": row.data,
                    "recorded_at": now,
                    "recorded_by": recorded_by,
                    "classification": row.classification,
                    "handling": row.handling,
                    "handling_conditions": row.handling_conditions,
                    "deleted": True,
                    "reason": reason,
                    "warnings": None,
                }
            ],
        )
        retracted.append(Written(record_id, row.entity_type, None))
    records_written(conn, retracted, now)
    return len(retracted)


__all__ = [
    "NewRecord",
    "WriteOutcome",
    "bulk_write",
    "create_record",
    "create_records",
    "retract_records",
    "update_record",
    "upsert_records",
]
