"""Reading records: current or "as at" a time, their history, and filtered, paginated lists.

Every function takes a ReadScope and puts its conditions in the WHERE clause, so what a caller may not
see is never fetched; a hidden record answers exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, case, func, select

from openrms.errors import BadRequest, NotFound
from openrms.schema import registry
from openrms.schema.types import FieldTypeError
from openrms.schema.validate import _scalar_checker
from openrms.store.scope import ReadScope
from openrms.store.tables import MAX_VERSION, link, other_record, record, record_version

MAX_PAGE = 500


def title(entity_type: str, data: dict[str, Any]) -> str:
    """A short human label, from the fields the registry names as the type's title."""
    reg = registry()
    etype = reg.entity_types.get(entity_type)
    if etype is None:
        return entity_type
    parts = []
    for name in etype.title:
        value = data.get(name)
        if value in (None, "", []):
            continue
        fdef = etype.fields[name]
        if fdef.type == "code":
            labels = reg.codelists[fdef.codelist]
            value = ", ".join(labels.label(v) for v in value) if fdef.many else labels.label(value)
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        parts.append(str(value))
    return " ".join(parts) or etype.label


def _view(row: Row[Any], scope: ReadScope, version_row: Row[Any] | None = None) -> dict[str, Any]:
    v = version_row or row
    data = scope.redact(row.agency, row.entity_type, v.data)
    return {
        "id": row.id,
        "entity_type": row.entity_type,
        "category": row.category,
        "title": title(row.entity_type, data),
        "version": v.version,
        "current_version": row.current_version,
        "master_id": row.master_id,
        "deleted": bool(v.deleted),
        "data": data,
        "provenance": {
            "agency": row.agency,
            "source_system": row.source_system,
            "source_key": row.source_key,
            "created_at": row.created_at.isoformat(),
            "created_by": row.created_by,
            "recorded_at": v.recorded_at.isoformat(),
            "recorded_by": v.recorded_by,
            "classification": v.classification,
            "handling": v.handling,
            "handling_conditions": v.handling_conditions,
            "reason": v.reason,
        },
        "warnings": v.warnings or [],
    }


_VERSION_COLUMNS = [
    record_version.c.version,
    record_version.c.data,
    record_version.c.recorded_at,
    record_version.c.recorded_by,
    record_version.c.handling_conditions,
    record_version.c.reason,
    record_version.c.warnings,
]


def _visible(conn: Connection, record_id: str, scope: ReadScope) -> Row[Any]:
    row = conn.execute(select(record).where(record.c.id == record_id, scope.records(record))).first()
    if row is None:
        raise NotFound(f"no record {record_id}")
    return row


def get_record(
    conn: Connection,
    record_id: str,
    scope: ReadScope,
    as_at: dt.datetime | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """The record now, at a given version, or as it stood at `as_at` (the latest version written by then)."""
    if version is None and as_at is None:  # the common read: one query for record and current version
        row = conn.execute(
            select(record, *_VERSION_COLUMNS, record_version.c.deleted.label("version_deleted"))
            .join(
                record_version,
                and_(
                    record_version.c.record_id == record.c.id,
                    record_version.c.version == record.c.current_version,
                ),
            )
            .where(record.c.id == record_id, scope.records(record))
        ).first()
        if row is None:
            raise NotFound(f"no record {record_id}")
        view = _view(row, scope)
        view["quality"] = quality(conn, row, view["data"], scope)
        return view
    row = _visible(conn, record_id, scope)
    query = select(record_version).where(record_version.c.record_id == record_id)
    if version is not None:
        query = query.where(record_version.c.version == min(version, MAX_VERSION))
    else:
        query = (
            query.where(record_version.c.recorded_at <= as_at)
            .order_by(record_version.c.version.desc())
            .limit(1)
        )
    version_row = conn.execute(query).first()
    if version_row is None:
        when = as_at.isoformat() if as_at else ""
        what = f"has no version {version}" if version is not None else f"did not exist yet at {when}"
        raise NotFound(f"record {record_id} {what}; it was first recorded at {row.created_at.isoformat()}")
    view = _view(row, scope, version_row)
    view["quality"] = quality(conn, row, view["data"], scope)
    return view


def history(conn: Connection, record_id: str, scope: ReadScope) -> list[dict[str, Any]]:
    row = _visible(conn, record_id, scope)
    versions = conn.execute(
        select(record_version)
        .where(record_version.c.record_id == record_id)
        .order_by(record_version.c.version)
    )
    return [_view(row, scope, v) for v in versions]


def quality(conn: Connection, row: Row[Any], data: dict[str, Any], scope: ReadScope) -> list[dict[str, str]]:
    """Data-quality flags that need the record's links: orphans, and a person's missing "+1" contact."""
    other = other_record
    other_end = case((link.c.from_id == row.id, link.c.to_id), else_=link.c.from_id)
    types = conn.execute(
        select(link.c.link_type)
        .join(other, and_(other.c.id == other_end, other.c.deleted.is_(False), scope.records(other)))
        .where(
            link.c.deleted.is_(False),
            scope.links(link),
            (link.c.from_id == row.id) | (link.c.to_id == row.id),
        )
        .limit(200)
    ).scalars()
    link_types = set(types)
    flags = []
    if not link_types:
        flags.append({"code": "orphan", "message": "linked to nothing: link it to an event, person or place"})
    if row.entity_type == "person":
        contact = link_types & {"RESIDES_AT", "USED_BY"} or {"pnc_id", "cro_number"} & data.keys()
        if not contact:
            flags.append(
                {
                    "code": "person_four_plus_one",
                    "message": "4+1 incomplete: no contact reference (address, phone, e-mail, PNC ID or CRO)",
                }
            )
    return flags


def _field_filter(entity_type: str | None, name: str, value: str) -> Any:
    if entity_type is None:
        raise BadRequest(f"filtering on field {name!r} needs an entity type")
    etype = registry().entity(entity_type)
    fdef = etype.fields.get(name)
    if fdef is None:
        raise BadRequest(f"{entity_type} has no field {name!r}; known: {', '.join(sorted(etype.fields))}")
    if fdef.many or fdef.type == "object":
        raise BadRequest(
            f"field {name!r} holds a list or object; filter on a single-valued field, or use search"
        )
    try:
        clean = _scalar_checker(fdef, registry())(value, "9999")
    except FieldTypeError as exc:
        raise BadRequest(f"filter {name}={value!r}: {exc}") from None
    element = record_version.c.data[name]
    if isinstance(clean, bool):
        return element.as_boolean() == clean
    if isinstance(clean, (int, float)):
        return element.as_float() == float(clean)
    return element.as_string() == clean


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: str | None


def list_records(
    conn: Connection,
    scope: ReadScope,
    *,
    entity_type: str | None = None,
    agency: str | None = None,
    source_system: str | None = None,
    master_id: str | None = None,
    fields: dict[str, str] | None = None,
    include_deleted: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> Page:
    """Records in id order, `limit` at a time; pass the page's `next_after` to get the next page."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    if entity_type is not None and entity_type not in registry().entity_types:
        _unknown_type(entity_type)
    # filtering on a field is matching on it: a record shared with that field redacted must not be found
    conditions = [scope.records(record, set(fields)) if fields else scope.records(record)]
    for column, value in (
        (record.c.entity_type, entity_type),
        (record.c.source_system, source_system),
        (record.c.master_id, master_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if agency is not None:
        conditions.append(record.c.agency == agency.upper())
    if not include_deleted:
        conditions.append(record.c.deleted.is_(False))
    if after:
        conditions.append(record.c.id > after)
    conditions += [_field_filter(entity_type, k, v) for k, v in (fields or {}).items()]
    query = (
        select(record, *_VERSION_COLUMNS, record_version.c.deleted.label("version_deleted"))
        .join(
            record_version,
            and_(
                record_version.c.record_id == record.c.id,
                record_version.c.version == record.c.current_version,
            ),
        )
        .where(*conditions)
        .order_by(record.c.id)
        .limit(limit + 1)
    )
    rows = conn.execute(query).all()
    items = [_view(r, scope) for r in rows[:limit]]
    return Page(items, rows[limit - 1].id if len(rows) > limit else None)


def _unknown_type(entity_type: str) -> None:
    raise BadRequest(
        f"unknown entity type {entity_type!r}; known: {', '.join(sorted(registry().entity_types))}"
    )


def count_records(conn: Connection, scope: ReadScope, entity_type: str | None = None) -> int:
    query = select(func.count()).select_from(record).where(scope.records(record), record.c.deleted.is_(False))
    if entity_type:
        query = query.where(record.c.entity_type == entity_type)
    return int(conn.execute(query).scalar_one())
