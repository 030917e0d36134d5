"""Short summaries of many records at once (the other ends of a person's links), read through the scope.

A profile with hundreds of involvements needs the title, type and date of every linked record; reading
them one `get_record` at a time would be hundreds of queries, so this reads them in one, with the same
scope condition and redaction as the store's own views (titles are made from the redacted data, so a
field the caller may not see cannot show through a title).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, select

from openrms.store.scope import ReadScope
from openrms.store.tables import record, record_version
from openrms.store.views import title

CHUNK = 500
_DATE_FIELDS = ("occurred_from", "reported_at", "arrested_at", "occurred_to")


def event_date(data: dict[str, Any]) -> str | None:
    for name in _DATE_FIELDS:
        value = data.get(name)
        if value:
            return str(value)
    return None


def summaries(conn: Connection, record_ids: Iterable[str], scope: ReadScope) -> dict[str, dict[str, Any]]:
    """{record id: {id, entity_type, category, title, master_id, agency, source_system, date, data}} for
    the live records among `record_ids` that the caller may see."""
    ids = sorted(set(record_ids))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = conn.execute(
            select(
                record.c.id,
                record.c.entity_type,
                record.c.category,
                record.c.master_id,
                record.c.agency,
                record.c.source_system,
                record_version.c.data,
            )
            .join(
                record_version,
                and_(
                    record_version.c.record_id == record.c.id,
                    record_version.c.version == record.c.current_version,
                ),
            )
            .where(
                record.c.id.in_(ids[start : start + CHUNK]),
                record.c.deleted.is_(False),
                scope.records(record),
            )
        )
        for row in rows:
            data = scope.redact(row.agency, row.entity_type, row.data)
            out[row.id] = {
                "id": row.id,
                "entity_type": row.entity_type,
                "category": row.category,
                "title": title(row.entity_type, data),
                "master_id": row.master_id,
                "agency": row.agency,
                "source_system": row.source_system,
                "date": event_date(data),
                "data": data,
            }
    return out
