"""The master index as CSV: one row per live source record, saying which master it resolves to.

Rows come in record id order from a server-side cursor, so a million records stream in constant memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import Connection, select

from openrms.errors import BadRequest
from openrms.schema import registry
from openrms.store.scope import ReadScope, Unrestricted
from openrms.store.tables import record

COLUMNS = ("agency", "source_system", "source_key", "record_id", "master_id")
BATCH = 5000
CHUNK_CHARS = 64 * 1024


def check_entity_type(entity_type: str) -> None:
    if entity_type not in registry().entity_types:
        known = ", ".join(sorted(registry().entity_types))
        raise BadRequest(f"unknown entity type {entity_type!r}; known: {known}")


def master_rows(
    conn: Connection, entity_type: str, scope: ReadScope | None = None
) -> Iterator[tuple[Any, ...]]:
    """(agency, source_system, source_key, record_id, master_id) of each live record of the type."""
    check_entity_type(entity_type)
    scope = scope or Unrestricted()
    query = (
        select(record.c.agency, record.c.source_system, record.c.source_key, record.c.id, record.c.master_id)
        .where(record.c.entity_type == entity_type, record.c.deleted.is_(False), scope.records(record))
        .order_by(record.c.id)
    )
    return (tuple(row) for row in conn.execution_options(yield_per=BATCH).execute(query))


def csv_chunks(conn: Connection, entity_type: str, scope: ReadScope | None = None) -> Iterator[str]:
    """The CSV (header first) in pieces of about 64 KB; BadRequest for an unknown type before any piece."""
    rows = master_rows(conn, entity_type, scope)
    return _chunks(rows)


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_masters(conn: Connection, entity_type: str, out: TextIO, scope: ReadScope | None = None) -> int:
    """Write the header and one row per live record of `entity_type`; returns the number of records."""
    count = 0

    def counted() -> Iterator[tuple[Any, ...]]:
        nonlocal count
        for row in master_rows(conn, entity_type, scope):
            count += 1
            yield row

    check_entity_type(entity_type)
    for piece in _chunks(counted()):
        out.write(piece)
    return count


__all__ = ["COLUMNS", "check_entity_type", "csv_chunks", "export_masters", "master_rows"]
