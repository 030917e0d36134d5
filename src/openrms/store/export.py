"""JSON Lines export of current records and links, streamed so memory does not grow with the database."""

from __future__ import annotations

from typing import Any, TextIO

import orjson
from sqlalchemy import Connection, and_, select

from openrms.store.links import _current_links, _link_view
from openrms.store.scope import ReadScope
from openrms.store.tables import link, record, record_version
from openrms.store.views import _VERSION_COLUMNS, _view

BATCH = 2000


def export_jsonl(
    conn: Connection,
    handle: TextIO,
    scope: ReadScope,
    *,
    entity_type: str | None = None,
    with_links: bool = True,
) -> dict[str, int]:
    """Write one JSON object per line: {"kind": "record", ...} then {"kind": "link", ...}."""
    counts = {"records": 0, "links": 0}
    query: Any = (
        select(record, *_VERSION_COLUMNS)
        .join(
            record_version,
            and_(
                record_version.c.record_id == record.c.id,
                record_version.c.version == record.c.current_version,
            ),
        )
        .where(scope.records(record), record.c.deleted.is_(False))
        .order_by(record.c.id)
    )
    if entity_type:
        query = query.where(record.c.entity_type == entity_type)
    for row in conn.execution_options(yield_per=BATCH).execute(query):
        handle.write(orjson.dumps({"kind": "record", **_view(row, scope)}).decode() + "\n")
        counts["records"] += 1
    if with_links:
        other_from, other_to = record.alias("f"), record.alias("t")
        links_query = (
            _current_links()
            .join(other_from, other_from.c.id == link.c.from_id)
            .join(other_to, other_to.c.id == link.c.to_id)
            .where(
                link.c.deleted.is_(False),
                other_from.c.deleted.is_(False),
                other_to.c.deleted.is_(False),
                scope.links(link),
                scope.records(other_from),
                scope.records(other_to),
            )
            .order_by(link.c.id)
        )
        if entity_type:
            links_query = links_query.where(
                (other_from.c.entity_type == entity_type) | (other_to.c.entity_type == entity_type)
            )
        for row in conn.execution_options(yield_per=BATCH).execute(links_query):
            handle.write(orjson.dumps({"kind": "link", **_link_view(row)}).decode() + "\n")
            counts["links"] += 1
    return counts
