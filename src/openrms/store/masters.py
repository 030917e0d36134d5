"""The master view: one real-world entity as the cluster of source records that describe it.

Here every record starts as its own master; the master index (identity package) merges and splits
clusters. The golden view picks, per field, the most recently recorded value and names the record that
gave it; survivorship rules in the identity package refine that choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, select

from openrms.errors import NotFound
from openrms.store.links import links_of
from openrms.store.scope import ReadScope
from openrms.store.tables import master, record, record_version
from openrms.store.views import _view, title


def golden(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per field, the value from the most recently recorded source record, with that record's id."""
    chosen: dict[str, dict[str, Any]] = {}
    for rec in sorted(records, key=lambda r: r["provenance"]["recorded_at"], reverse=True):
        for name, value in rec["data"].items():
            chosen.setdefault(
                name, {"value": value, "record_id": rec["id"], "agency": rec["provenance"]["agency"]}
            )
    return chosen


Golden = Callable[[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]


def master_view(
    conn: Connection, master_id: str, scope: ReadScope, *, choose: Golden | None = None
) -> dict[str, Any]:
    """A master with the source records and links the caller may see; NotFound if they may see none.

    `choose(entity_type, records)` makes the golden view (the identity package passes its survivorship
    rules); without it each field takes the most recent value (`golden`)."""
    head = conn.execute(select(master).where(master.c.id == master_id)).first()
    if head is None:
        raise NotFound(f"no master {master_id}")
    rows = conn.execute(
        select(
            record,
            record_version.c.version,
            record_version.c.data,
            record_version.c.recorded_at,
            record_version.c.recorded_by,
            record_version.c.handling_conditions,
            record_version.c.reason,
            record_version.c.warnings,
        )
        .join(
            record_version,
            and_(
                record_version.c.record_id == record.c.id,
                record_version.c.version == record.c.current_version,
            ),
        )
        .where(record.c.master_id == master_id, record.c.deleted.is_(False), scope.records(record))
        .order_by(record.c.created_at, record.c.id)  # records made together: still one order everywhere
    ).all()
    if not rows:
        raise NotFound(f"no master {master_id}")
    records = [_view(r, scope) for r in rows]
    gold = choose(head.entity_type, records) if choose else golden(records)
    return {
        "id": head.id,
        "entity_type": head.entity_type,
        "status": head.status,
        "merged_into": head.merged_into,
        "title": title(head.entity_type, {k: v["value"] for k, v in gold.items()}),
        "golden": gold,
        "records": records,
        "links": links_of(conn, [r["id"] for r in records], scope),
    }
