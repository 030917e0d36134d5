"""Links: typed, dated facts between two records ("this person was the suspect in this crime").

A link has provenance and versions exactly like a record. Its type must allow the two ends' entity types,
as declared in the registry's links.yaml; its validity dates are partial dates or moments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, case, exists, insert, or_, select, update

from openrms.errors import BadRequest, BatchInvalid, Conflict, Issue, NotFound, RecordInvalid, with_article
from openrms.schema import registry
from openrms.schema.types import FieldTypeError, datetime, partial_date
from openrms.store import ids
from openrms.store.bulk import Encoder, by_key, insert_tuples
from openrms.store.database import Database
from openrms.store.hooks import WrittenLink, links_written
from openrms.store.provenance import Provenance, ProvenanceChecker
from openrms.store.scope import ReadScope
from openrms.store.tables import MAX_VERSION, link, link_version, other_record, record

CHUNK = 500


@dataclass(frozen=True)
class NewLink:
    link_type: str
    from_id: str
    to_id: str
    provenance: Provenance
    valid_from: str | None = None
    valid_to: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def _when(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    return datetime(text) if "T" in text or " " in text.strip() else partial_date(text)


def check_ends(item: NewLink, types: Mapping[str, str]) -> list[Issue]:
    issues: list[Issue] = []
    ltype = registry().link_types.get(item.link_type)
    if ltype is None:
        issues.append(
            Issue(
                "link_type",
                "link_type",
                f"unknown link type {item.link_type!r}; known: {', '.join(sorted(registry().link_types))}",
            )
        )
    for end, rid, allowed in (
        ("from_id", item.from_id, ltype and ltype.from_types),
        ("to_id", item.to_id, ltype and ltype.to_types),
    ):
        etype = types.get(rid)
        if etype is None:
            issues.append(Issue("link_end", end, f"no record {rid}"))
        elif allowed and etype not in allowed:
            issues.append(
                Issue(
                    "link_end",
                    end,
                    f"{item.link_type} cannot {'start' if end == 'from_id' else 'end'} "
                    f"at {with_article(etype)}; allowed: {', '.join(sorted(allowed))}",
                )
            )
    if item.from_id == item.to_id:
        issues.append(Issue("link_end", "to_id", "a record cannot be linked to itself"))
    return issues


def check_dates(item: NewLink) -> tuple[list[Issue], str | None, str | None]:
    issues: list[Issue] = []
    dates: list[str | None] = []
    for name in ("valid_from", "valid_to"):
        try:
            dates.append(_when(getattr(item, name)))
        except FieldTypeError as exc:
            issues.append(Issue("format", name, str(exc)))
            dates.append(None)
    # Compared on their common precision: a whole day "2020-05-03" does not end before "2020-05-03T10:00Z".
    common = min(len(dates[0] or ""), len(dates[1] or ""))
    if dates[0] and dates[1] and dates[1][:common] < dates[0][:common]:
        issues.append(Issue("link_dates", "valid_to", f"valid_to {dates[1]} is before valid_from {dates[0]}"))
    return issues, dates[0], dates[1]


def check_data(item: NewLink) -> list[Issue]:
    """Link notes are stored as JSON: values JSON cannot hold (integers past 64 bits...) are refused."""
    try:
        orjson.dumps(dict(item.data))
    except (TypeError, orjson.JSONEncodeError) as exc:
        return [Issue("format", "data", f"link notes must be plain JSON values ({exc})")]
    return []


def _types_of(conn: Connection, record_ids: set[str]) -> dict[str, str]:
    wanted, found = list(record_ids), {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(record.c.id, record.c.entity_type).where(record.c.id.in_(wanted[start : start + CHUNK]))
        )
        found.update({r.id: r.entity_type for r in rows})
    return found


def _hash(item: NewLink, valid_from: str | None, valid_to: str | None, prov: Provenance) -> str:
    payload = orjson.dumps(
        [valid_from, valid_to, dict(item.data), prov.classification, prov.handling],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


@dataclass(slots=True)
class PreparedLink:
    """A checked link with its two rows encoded for the dialect (see records.PreparedRecord)."""

    id: str
    content_hash: str
    classification: str
    handling: str
    link_row: tuple[Any, ...]
    version_row: tuple[Any, ...]  # as version 1

    @property
    def link_type(self) -> str:
        return str(self.link_row[1])


class LinkPreparer:
    """Checks and encodes links one at a time, given the entity types of their ends; touches no database."""

    def __init__(self, now: dt.datetime, dialect: str) -> None:
        self._enc = Encoder(dialect)
        self._checked = ProvenanceChecker()
        self._now, self._false = self._enc.time(now), self._enc.bool(False)

    def __call__(self, item: NewLink, types: Mapping[str, str]) -> PreparedLink:
        prov, source_key = self._checked(item.provenance)
        date_issues, valid_from, valid_to = check_dates(item)
        issues = check_ends(item, types) + date_issues + check_data(item)
        if issues:
            raise RecordInvalid(f"{item.link_type} link {item.from_id} -> {item.to_id}", issues)
        link_id = ids.link_id(
            item.link_type, item.from_id, item.to_id, prov.agency, prov.source_system, source_key
        )
        digest = _hash(item, valid_from, valid_to, prov)
        enc, now, false = self._enc, self._now, self._false
        recorded_at = enc.time(prov.recorded_at) if prov.recorded_at else now
        return PreparedLink(
            link_id,
            digest,
            prov.classification,
            prov.handling,
            # link: id, link_type, from_id, to_id, agency, source_system, source_key, created_at, created_by,
            # current_version, updated_at, classification, handling, deleted, content_hash
            (
                link_id,
                item.link_type,
                item.from_id,
                item.to_id,
                prov.agency,
                prov.source_system,
                source_key,
                recorded_at,
                prov.recorded_by,
                1,
                now,
                prov.classification,
                prov.handling,
                false,
                digest,
            ),
            # link_version: link_id, version, valid_from, valid_to, data, recorded_at, recorded_by,
            # classification, handling, handling_conditions, deleted, reason
            (
                link_id,
                1,
                valid_from,
                valid_to,
                enc.json(dict(item.data)),
                recorded_at,
                prov.recorded_by,
                prov.classification,
                prov.handling,
                prov.handling_conditions,
                false,
                prov.reason,
            ),
        )


def prepare_links(
    items: Sequence[NewLink], types: Mapping[str, str], now: dt.datetime, dialect: str
) -> list[PreparedLink]:
    """Check and encode a batch; BatchInvalid (or RecordInvalid for one) lists every failure."""
    preparer = LinkPreparer(now, dialect)
    prepared, failures = [], []
    for item in items:
        try:
            prepared.append(preparer(item, types))
        except RecordInvalid as exc:
            failures.append(exc)
    if failures:
        raise failures[0] if len(items) == 1 else BatchInvalid(failures)
    return prepared


def write_prepared_links(
    conn: Connection, prepared: Sequence[PreparedLink], now: dt.datetime, *, upsert: bool = True
) -> list[dict[str, Any]]:
    """Insert new links; with `upsert`, links already stored get a new version if changed, else nothing."""
    stored = _stored_links(conn, [p.id for p in prepared]) if upsert else {}
    fresh: dict[str, PreparedLink] = {}
    outcomes: dict[str, dict[str, Any]] = {}
    for p in prepared:
        old = stored.get(p.id)
        status = _status(p, old)
        if old is None:
            fresh[p.id] = p
            outcomes[p.id] = {"id": p.id, "status": status, "version": 1}
        elif status == "unchanged":
            outcomes[p.id] = {"id": p.id, "status": status, "version": old.current_version}
        else:
            version = old.current_version + 1
            conn.execute(
                update(link)
                .where(link.c.id == p.id)
                .values(
                    current_version=version,
                    updated_at=now,
                    content_hash=p.content_hash,
                    deleted=False,
                    classification=p.classification,
                    handling=p.handling,
                )
            )
            insert_tuples(conn, link_version, [(p.id, version, *p.version_row[2:])])
            outcomes[p.id] = {"id": p.id, "status": "updated", "version": version}
    insert_tuples(conn, link, by_key(p.link_row for p in fresh.values()))
    insert_tuples(conn, link_version, by_key(p.version_row for p in fresh.values()))
    changed = [
        WrittenLink(p.id, p.link_row[1], p.link_row[2], p.link_row[3], False, p.id in fresh)
        for p in prepared
        if outcomes[p.id]["status"] != "unchanged"
    ]
    links_written(conn, changed, now)
    return [outcomes[p.id] for p in prepared]


def replaced_links(
    conn: Connection,
    created: Sequence[PreparedLink],
    given: Set[str],
    new_records: Set[str],
    older_than: dt.datetime,
) -> dict[str, tuple[int, PreparedLink]]:
    """The stored links that links just `created` replace: link id -> (its version, its replacement).

    A link's source key names one fact of its source ("crime 123 happened at", "the person detained in
    custody record 9"). A link's id also covers its two ends, so when the source corrects an end (the crime
    happened at another place) the re-import creates a link, and the old one, which the source no longer
    states, must go: otherwise the crime happened at both places. Replaced are live links of the same type,
    agency, source system and source key sharing an end with a created link, last written before
    `older_than` (the import's start: links that rows of one import share a key between are not each
    other's replacement) and not `given` again by the same write (every link it gave, created or not: a
    report's several subjects may share one key).

    The shared end was stored before `older_than`, so ends in `new_records` (created by this write) and
    ends created since are not looked for: a first import, whose links are all new, reads one row for
    each end it did not create and no link at all.
    """
    ends = sorted({end for p in created for end in p.link_row[2:4]} - new_records)
    old_ends: set[str] = set()
    for start in range(0, len(ends), CHUNK):
        old_ends.update(
            conn.execute(
                select(record.c.id).where(
                    record.c.id.in_(ends[start : start + CHUNK]), record.c.created_at < older_than
                )
            ).scalars()
        )
    candidates = [p for p in created if not old_ends.isdisjoint(p.link_row[2:4])]
    replacement = {(p.link_row[1], *p.link_row[4:7]): p for p in candidates}
    found: dict[str, tuple[int, PreparedLink]] = {}
    for start in range(0, len(candidates), CHUNK):
        chunk = candidates[start : start + CHUNK]
        shared = sorted({end for p in chunk for end in p.link_row[2:4]} & old_ends)
        keys = sorted({p.link_row[6] for p in chunk})
        rows = conn.execute(
            select(
                link.c.id,
                link.c.current_version,
                link.c.link_type,
                link.c.agency,
                link.c.source_system,
                link.c.source_key,
            ).where(
                or_(link.c.from_id.in_(shared), link.c.to_id.in_(shared)),
                link.c.source_key.in_(keys),
                link.c.deleted.is_(False),
                link.c.updated_at < older_than,
            )
        )
        for row in rows:
            key = (row.link_type, row.agency, row.source_system, row.source_key)
            if key in replacement and row.id not in given:
                found[row.id] = (row.current_version, replacement[key])
    return found


def retract_replaced(
    conn: Connection,
    created: Sequence[PreparedLink],
    given: Set[str],
    new_records: Set[str],
    older_than: dt.datetime,
    recorded_by: str,
    now: dt.datetime,
) -> list[str]:
    """Retract the links that `replaced_links` finds; returns their ids. Each gets a new version marked
    deleted whose reason names its replacement; the history stays."""
    found = replaced_links(conn, created, given, new_records, older_than)
    for link_id, (version, by) in sorted(found.items()):
        reason = f"replaced at the source by link {by.id} ({by.link_row[5]} {by.link_row[6]!r})"
        update_link(conn, link_id, version, recorded_by=recorded_by, deleted=True, reason=reason, now=now)
    return sorted(found)


def live_source_links(agency: str, source_system: str, types: Any) -> Select[tuple[str, int]]:
    """The live links of this agency and source system of `types` (a list or a subquery), in id order: those
    a snapshot of the source may retract."""
    return (
        select(link.c.id, link.c.current_version)
        .where(
            link.c.agency == agency,
            link.c.source_system == source_system,
            link.c.link_type.in_(types),
            link.c.deleted.is_(False),
        )
        .order_by(link.c.id)
    )


def retract_unseen_links(
    conn: Connection, agency: str, source_system: str, seen: Any, recorded_by: str, reason: str
) -> list[str]:
    """Snapshot imports: retract the live links of this agency and source system whose ids the subquery
    `seen` does not give (the source no longer states them), of the types of those it does; returns their
    ids. (As for records, a type of which the snapshot gives none is left alone.)"""
    now = dt.datetime.now(dt.UTC)
    types = select(link.c.link_type).where(link.c.id.in_(seen)).distinct()
    gone = conn.execute(live_source_links(agency, source_system, types).where(link.c.id.not_in(seen))).all()
    for link_id, version in gone:
        update_link(conn, link_id, version, recorded_by=recorded_by, deleted=True, reason=reason, now=now)
    return [link_id for link_id, _ in gone]


def _stored_links(conn: Connection, wanted: Sequence[str]) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(link.c.id, link.c.current_version, link.c.content_hash, link.c.deleted).where(
                link.c.id.in_(wanted[start : start + CHUNK])
            )
        )
        stored.update({r.id: r for r in rows})
    return stored


def _status(prepared: PreparedLink, old: Any) -> str:
    if old is None:
        return "created"
    return "unchanged" if old.content_hash == prepared.content_hash and not old.deleted else "updated"


def link_statuses(conn: Connection, prepared: Sequence[PreparedLink]) -> list[str]:
    """What `write_prepared_links` would do with each link (created, updated or unchanged), writing nothing:
    a dry run's figures."""
    stored = _stored_links(conn, [p.id for p in prepared])
    return [_status(p, stored.get(p.id)) for p in prepared]


def bulk_write_links(
    db: Database,
    items: Iterable[NewLink],
    known_types: Mapping[str, str],
    *,
    batch_size: int = 5000,
    upsert: bool = True,
) -> Counter[str]:
    """Write a stream of links in batches, one transaction each, whose end types the caller knows (e.g. the
    records it has just written): no type lookups. Returns counts by outcome status."""
    counts: Counter[str] = Counter()
    batch: list[NewLink] = []

    def flush() -> None:
        now = dt.datetime.now(dt.UTC)
        prepared = prepare_links(batch, known_types, now, db.dialect)
        with db.write() as conn:
            counts.update(o["status"] for o in write_prepared_links(conn, prepared, now, upsert=upsert))
        batch.clear()

    for item in items:
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
            flushed = sum(counts.values())
            if flushed in (batch_size, 4 * batch_size) or flushed % (25 * batch_size) == 0:
                db.refresh_statistics()
    if batch:
        flush()
    return counts


def upsert_links(
    conn: Connection,
    items: Sequence[NewLink],
    now: dt.datetime | None = None,
    known_types: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Create links (or new versions of changed ones); idempotent for the same source keys.

    `known_types` (record id -> entity type) spares the lookup of ends whose types the caller knows,
    e.g. records written in the same transaction by an import.
    """
    now = now or dt.datetime.now(dt.UTC)
    return write_prepared_links(conn, prepare_stored_ends(conn, items, now, known_types), now)


def prepare_stored_ends(
    conn: Connection,
    items: Sequence[NewLink],
    now: dt.datetime,
    known_types: Mapping[str, str] | None = None,
) -> list[PreparedLink]:
    """`prepare_links`, looking up the types of the ends `known_types` does not give."""
    ends = {i.from_id for i in items} | {i.to_id for i in items}
    types = dict(known_types or {})
    types.update(_types_of(conn, ends - types.keys()))
    return prepare_links(items, types, now, conn.dialect.name)


def update_link(
    conn: Connection,
    link_id: str,
    expected_version: int,
    *,
    recorded_by: str,
    valid_from: str | None = None,
    valid_to: str | None = None,
    data: Mapping[str, Any] | None = None,
    deleted: bool | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A new version of a link (new dates or notes; `deleted` True retracts, False restores, None keeps).

    A date left as None keeps its value and "" clears it; 409 if `expected_version` is not the current one.
    """
    now = now or dt.datetime.now(dt.UTC)
    row = conn.execute(
        select(
            link,
            link_version.c.valid_from,
            link_version.c.valid_to,
            link_version.c.data,
            link_version.c.handling_conditions,
        )
        .join(
            link_version,
            and_(link_version.c.link_id == link.c.id, link_version.c.version == link.c.current_version),
        )
        .where(link.c.id == link_id)
    ).first()
    if row is None:
        raise NotFound(f"no link {link_id}")
    prov = Provenance(
        row.agency,
        row.source_system,
        recorded_by,
        row.source_key,
        None,
        row.classification,
        row.handling,
        row.handling_conditions,
        reason,
    )
    item = NewLink(
        row.link_type,
        row.from_id,
        row.to_id,
        prov,
        valid_from if valid_from is not None else row.valid_from,
        valid_to if valid_to is not None else row.valid_to,
        data if data is not None else row.data,
    )
    issues, vfrom, vto = check_dates(item)
    issues += check_data(item)
    if issues:
        raise RecordInvalid(f"link {link_id}", issues)
    deleted = bool(row.deleted) if deleted is None else deleted
    digest = _hash(item, vfrom, vto, prov)
    stale = Conflict(
        f"link {link_id} is at version {row.current_version}, not {expected_version}; read it again",
        link=link_id,
        current_version=row.current_version,
        expected_version=expected_version,
    )
    if digest == row.content_hash and deleted == bool(row.deleted):
        if expected_version != row.current_version:
            raise stale
        return {"id": link_id, "status": "unchanged", "version": row.current_version}
    if expected_version >= MAX_VERSION:  # a bigger number can name no version
        raise stale
    version = expected_version + 1
    result = conn.execute(
        update(link)
        .where(link.c.id == link_id, link.c.current_version == expected_version)
        .values(
            current_version=version,
            updated_at=now,
            deleted=deleted,
            content_hash=digest,
        )
    )
    if result.rowcount != 1:
        raise stale
    conn.execute(
        insert(link_version),
        [
            {
                "link_id": link_id,
                "version": version,
                "valid_from": vfrom,
                "valid_to": vto,
                "data": dict(item.data),
                "recorded_at": now,
                "recorded_by": recorded_by,
                "classification": row.classification,
                "handling": row.handling,
                "handling_conditions": row.handling_conditions,
                "deleted": deleted,
                "reason": reason,
            }
        ],
    )
    links_written(conn, [WrittenLink(link_id, row.link_type, row.from_id, row.to_id, deleted)], now)
    return {"id": link_id, "status": "updated", "version": version}


def _link_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "link_type": row.link_type,
        "label": registry().link_types[row.link_type].label,
        "from_id": row.from_id,
        "to_id": row.to_id,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "data": row.data,
        "version": row.version,
        "deleted": bool(row.deleted),
        "provenance": {
            "agency": row.agency,
            "source_system": row.source_system,
            "source_key": row.source_key,
            "created_at": row.created_at.isoformat(),
            "created_by": row.created_by,
            "recorded_at": row.recorded_at.isoformat(),
            "recorded_by": row.recorded_by,
            "classification": row.classification,
            "handling": row.handling,
        },
    }


_LINK_VERSION_COLUMNS = [
    link_version.c.version,
    link_version.c.valid_from,
    link_version.c.valid_to,
    link_version.c.data,
    link_version.c.recorded_at,
    link_version.c.recorded_by,
]


def _current_links() -> Any:
    return select(link, *_LINK_VERSION_COLUMNS).join(
        link_version,
        and_(link_version.c.link_id == link.c.id, link_version.c.version == link.c.current_version),
    )


def _both_ends_visible(scope: ReadScope) -> Any:
    """A link is seen only with both its ends: a hidden record must not show through its links."""
    ends = record.alias("ends")
    return and_(
        exists(select(ends.c.id).where(ends.c.id == link.c.from_id, scope.records(ends))),
        exists(select(ends.c.id).where(ends.c.id == link.c.to_id, scope.records(ends))),
    )


def get_link(conn: Connection, link_id: str, scope: ReadScope) -> dict[str, Any]:
    row = conn.execute(
        _current_links().where(link.c.id == link_id, scope.links(link), _both_ends_visible(scope))
    ).first()
    if row is None:
        raise NotFound(f"no link {link_id}")
    return _link_view(row)


def link_history(conn: Connection, link_id: str, scope: ReadScope) -> list[dict[str, Any]]:
    head = conn.execute(
        select(link).where(link.c.id == link_id, scope.links(link), _both_ends_visible(scope))
    ).first()
    if head is None:
        raise NotFound(f"no link {link_id}")
    rows = conn.execute(
        select(
            link,
            *_LINK_VERSION_COLUMNS,
            link_version.c.deleted.label("version_deleted"),
            link_version.c.reason,
        )
        .join(link_version, link_version.c.link_id == link.c.id)
        .where(link.c.id == link_id)
        .order_by(link_version.c.version)
    )
    # `reason` says why a version was made: a retraction's, or "replaced at the source by link ..."
    return [{**_link_view(r), "deleted": bool(r.version_deleted), "reason": r.reason} for r in rows]


def links_of(
    conn: Connection,
    record_ids: Sequence[str],
    scope: ReadScope,
    *,
    link_type: str | None = None,
    include_deleted: bool = False,
    limit: int = 5000,
) -> list[dict[str, Any]]:
    """Live links touching any of `record_ids` whose other end the caller may see and is not retracted."""
    if not record_ids:
        return []
    other = other_record
    ends = or_(link.c.from_id.in_(record_ids), link.c.to_id.in_(record_ids))
    query = (
        _current_links()
        .join(other, other.c.id == _other_end(record_ids))
        .where(ends, scope.links(link), scope.records(other))
    )
    if link_type:
        if link_type not in registry().link_types:
            raise BadRequest(f"unknown link type {link_type!r}")
        query = query.where(link.c.link_type == link_type)
    if not include_deleted:
        query = query.where(link.c.deleted.is_(False), other.c.deleted.is_(False))
    return [_link_view(r) for r in conn.execute(query.order_by(link.c.id).limit(limit))]


def _other_end(record_ids: Sequence[str]) -> Any:
    return case((link.c.from_id.in_(record_ids), link.c.to_id), else_=link.c.from_id)
