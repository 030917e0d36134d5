"""Bulk inserts: a large batch (COPY on PostgreSQL) stores exactly what row-by-row INSERTs store, awkward
text included, and a taken key in a large batch is still refused as a conflict."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from openrms.errors import Conflict
from openrms.store import bulk as bulk_module
from openrms.store.bulk import COPY_FROM
from openrms.store.database import Database
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records, upsert_records
from openrms.store.tables import master, record, record_version

NOW = dt.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
AWKWARD = [
    "tab\there",
    "new\nline\r\nand carriage",
    "back\\slash \\N \\\\",
    "quote \" and ' apostrophe",
    "unicode: Zoë, Ørsted, 東京, emoji 🚓",
    "  padded  ",
    "\\.",
    "comma, semicolon; pipe |",
]


def _items(prefix: str, count: int) -> list[NewRecord]:
    items = []
    for n in range(count):
        text = AWKWARD[n % len(AWKWARD)]
        data = {"reference": f"R{n}", "narrative": f"{text} #{n}", "crime_type": "BURGLARY"}
        prov = Provenance("WYP", "BULK", "tester", f"{prefix}{n}", None, "OFFICIAL", "P", text[:40])
        items.append(NewRecord("crime", data, prov))
    return items


def _stored(db: Database, prefix: str) -> list[tuple[object, ...]]:
    with db.read() as conn:
        rows = conn.execute(
            select(record, record_version, master.c.created_at.label("master_created"))
            .join(record_version, record_version.c.record_id == record.c.id)
            .join(master, master.c.id == record.c.master_id)
            .where(record.c.source_key.like(f"{prefix}%"))
            .order_by(record.c.created_at, record.c.source_key)
        ).all()
    # everything but what derives from the source key (ids, the key itself, the content hash)
    skip = {"id", "record_id", "source_key", "master_id", "content_hash"}
    return [
        tuple((k, v) for k, v in row._mapping.items() if k not in skip)
        for row in sorted(rows, key=lambda r: int(r.source_key[len(prefix) :]))
    ]


def test_a_large_batch_stores_what_row_by_row_inserts_store(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[str] = []
    real_copy = bulk_module._copy

    def spy(conn: Any, table: str, *rest: Any) -> None:
        copied.append(table)
        real_copy(conn, table, *rest)

    monkeypatch.setattr(bulk_module, "_copy", spy)
    count = COPY_FROM + 9
    with db.write() as conn:
        bulk = upsert_records(conn, _items("A", count), NOW)
    # (the write hooks registered by other tests' imports, such as the search index's, may COPY too)
    assert copied[:3] == (["master", "record", "record_version"] if db.dialect == "postgresql" else [])
    for item in _items("B", count):
        with db.write() as conn:
            upsert_records(conn, [item], NOW)
    assert {o.status for o in bulk} == {"created"}
    a, b = _stored(db, "A"), _stored(db, "B")
    assert len(a) == count
    assert a == b
    first = dict(a[0])
    assert first["recorded_at"] == NOW and first["deleted"] is False
    assert dict(a[2])["data"]["narrative"] == "back\\slash \\N \\\\ #2"


def test_a_taken_key_in_a_large_batch_is_a_conflict(db: Database) -> None:
    items = _items("C", COPY_FROM + 1)
    with db.write() as conn:
        create_records(conn, items[:1], NOW)
    with pytest.raises(Conflict, match="C0"), db.write() as conn:
        create_records(conn, items, NOW)
    with db.read() as conn:
        kept = conn.execute(select(record.c.source_key).where(record.c.source_key.like("C%"))).scalars()
        assert list(kept) == ["C0"]
