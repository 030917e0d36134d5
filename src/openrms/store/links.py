"""Links: typed, dated facts between two records ("this person was the suspect in this crime").

A link has provenance and versions exactly like a record. Its type must allow the two ends' entity types,
as declared in the registry's links.yaml; its validity dates are partial dates or moments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, insert, or_, select, update

from openrms.errors import BadRequest, BatchInvalid, Conflict, Issue, NotFound, RecordInvalid
from openrms.schema import registry
from openrms.schema.types import FieldTypeError, datetime, partial_date
from openrms.store import ids
from openrms.store.bulk import insert_rows
from openrms.store.provenance import Provenance, ProvenanceChecker
from openrms.store.scope import ReadScope
from openrms.store.tables import link, link_version, record

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


def _check_ends(item: NewLink, types: Mapping[str, str]) -> list[Issue]:
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
                    f"at a {etype}; allowed: {', '.join(sorted(allowed))}",
                )
            )
    if item.from_id == item.to_id:
        issues.append(Issue("link_end", "to_id", "a record cannot be linked to itself"))
    return issues


def _check_dates(item: NewLink) -> tuple[list[Issue], str | None, str | None]:
    issues: list[Issue] = []
    dates: list[str | None] = []
    for name in ("valid_from", "valid_to"):
        try:
            dates.append(_when(getattr(item, name)))
        except FieldTypeError as exc:
            issues.append(Issue("format", name, str(exc)))
            dates.append(None)
    if dates[0] and dates[1] and dates[1] < dates[0]:
        issues.append(Issue("link_dates", "valid_to", f"valid_to {dates[1]} is before valid_from {dates[0]}"))
    return issues, dates[0], dates[1]


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


def upsert_links(
    conn: Connection, items: Sequence[NewLink], now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Create links (or new versions of changed ones); idempotent for the same source keys."""
    now = now or dt.datetime.now(dt.UTC)
    types = _types_of(conn, {i.from_id for i in items} | {i.to_id for i in items})
    failures, rows = [], []
    checked = ProvenanceChecker()
    for item in items:
        prov, source_key = checked(item.provenance)
        date_issues, valid_from, valid_to = _check_dates(item)
        issues = _check_ends(item, types) + date_issues
        if issues:
            failures.append(RecordInvalid(f"{item.link_type} link {item.from_id} -> {item.to_id}", issues))
            continue
        link_id = ids.link_id(
            item.link_type, item.from_id, item.to_id, prov.agency, prov.source_system, source_key
        )
        rows.append(
            (link_id, item, prov, source_key, valid_from, valid_to, _hash(item, valid_from, valid_to, prov))
        )
    if failures:
        raise failures[0] if len(items) == 1 else BatchInvalid(failures)
    existing = {}
    for start in range(0, len(rows), CHUNK):
        chunk = [r[0] for r in rows[start : start + CHUNK]]
        existing.update(
            {
                r.id: r
                for r in conn.execute(
                    select(link.c.id, link.c.current_version, link.c.content_hash).where(link.c.id.in_(chunk))
                )
            }
        )
    new_links, versions, outcomes = [], [], []
    for link_id, item, prov, source_key, valid_from, valid_to, digest in rows:
        old = existing.get(link_id)
        version = 1 if old is None else old.current_version + 1
        if old is not None and old.content_hash == digest:
            outcomes.append({"id": link_id, "status": "unchanged", "version": old.current_version})
            continue
        if old is None:
            new_links.append(
                {
                    "id": link_id,
                    "link_type": item.link_type,
                    "from_id": item.from_id,
                    "to_id": item.to_id,
                    "agency": prov.agency,
                    "source_system": prov.source_system,
                    "source_key": source_key,
                    "created_at": prov.recorded_at or now,
                    "created_by": prov.recorded_by,
                    "current_version": 1,
                    "updated_at": now,
                    "classification": prov.classification,
                    "handling": prov.handling,
                    "deleted": False,
                    "content_hash": digest,
                }
            )
        else:
            conn.execute(
                update(link)
                .where(link.c.id == link_id)
                .values(
                    current_version=version,
                    updated_at=now,
                    content_hash=digest,
                    deleted=False,
                    classification=prov.classification,
                    handling=prov.handling,
                )
            )
        versions.append(
            {
                "link_id": link_id,
                "version": version,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "data": dict(item.data),
                "recorded_at": prov.recorded_at or now,
                "recorded_by": prov.recorded_by,
                "classification": prov.classification,
                "handling": prov.handling,
                "handling_conditions": prov.handling_conditions,
                "deleted": False,
                "reason": prov.reason,
            }
        )
        outcomes.append(
            {"id": link_id, "status": "created" if old is None else "updated", "version": version}
        )
    insert_rows(conn, link, new_links)
    insert_rows(conn, link_version, versions)
    return outcomes


def update_link(
    conn: Connection,
    link_id: str,
    expected_version: int,
    *,
    recorded_by: str,
    valid_from: str | None = None,
    valid_to: str | None = None,
    data: Mapping[str, Any] | None = None,
    deleted: bool = False,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A new version of a link (new dates, or retraction with `deleted`); 409 if `expected_version` is old."""
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
    issues, vfrom, vto = _check_dates(item)
    if issues:
        raise RecordInvalid(f"link {link_id}", issues)
    version = expected_version + 1
    result = conn.execute(
        update(link)
        .where(link.c.id == link_id, link.c.current_version == expected_version)
        .values(
            current_version=version,
            updated_at=now,
            deleted=deleted,
            content_hash=_hash(item, vfrom, vto, prov),
        )
    )
    if result.rowcount != 1:
        raise Conflict(
            f"link {link_id} is at version {row.current_version}, not {expected_version}; read it again",
            current_version=row.current_version,
        )
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


def get_link(conn: Connection, link_id: str, scope: ReadScope) -> dict[str, Any]:
    row = conn.execute(_current_links().where(link.c.id == link_id, scope.links(link))).first()
    if row is None:
        raise NotFound(f"no link {link_id}")
    return _link_view(row)


def link_history(conn: Connection, link_id: str, scope: ReadScope) -> list[dict[str, Any]]:
    head = conn.execute(select(link).where(link.c.id == link_id, scope.links(link))).first()
    if head is None:
        raise NotFound(f"no link {link_id}")
    rows = conn.execute(
        select(link, *_LINK_VERSION_COLUMNS, link_version.c.deleted.label("version_deleted"))
        .join(link_version, link_version.c.link_id == link.c.id)
        .where(link.c.id == link_id)
        .order_by(link_version.c.version)
    )
    return [{**_link_view(r), "deleted": bool(r.version_deleted)} for r in rows]


def links_of(
    conn: Connection,
    record_ids: Sequence[str],
    scope: ReadScope,
    *,
    link_type: str | None = None,
    include_deleted: bool = False,
    limit: int = 5000,
) -> list[dict[str, Any]]:
    """Links touching any of `record_ids` whose other end the caller may also see."""
    if not record_ids:
        return []
    other = record.alias("other")
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
        query = query.where(link.c.deleted.is_(False))
    return [_link_view(r) for r in conn.execute(query.order_by(link.c.id).limit(limit))]


def _other_end(record_ids: Sequence[str]) -> Any:
    return case((link.c.from_id.in_(record_ids), link.c.to_id), else_=link.c.from_id)
