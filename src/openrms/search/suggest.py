"""Search-as-you-type for the UI's name and VRM boxes: at most ten masters whose name or VRM starts so.

Each look-up is one index range (the `ta:` name keys in search_term, or search_doc's VRM index) read in key
order and stopped early, joined to the record for the caller's scope, so it costs the same on a million
records as on a hundred.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from openrms.errors import BadRequest
from openrms.identity import normalise as n
from openrms.store.scope import ReadScope
from openrms.store.tables import record, search_doc, search_term

FIELDS = ("name", "vrm")
MAX_LIMIT = 10
SCAN = 200


def _upper(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def suggest(
    conn: Connection, field: str, prefix: str, scope: ReadScope, *, limit: int = MAX_LIMIT
) -> dict[str, Any]:
    """Up to `limit` (at most 10) suggestions, each {label, master_id, record_id, entity_type}."""
    if field not in FIELDS:
        raise BadRequest(
            f"parameter 'field': expected one of {', '.join(FIELDS)}, got {field!r}", parameter="field"
        )
    if not isinstance(prefix, str) or len(prefix) > 100 or not prefix.isprintable():
        raise BadRequest("parameter 'prefix': at most 100 printable characters", parameter="prefix")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"parameter 'limit': 1 to {MAX_LIMIT}", parameter="limit")
    # suggestions match on names or VRMs: a record shared with those fields redacted is not suggested
    matched = {"surname", "forenames"} if field == "name" else {"vrm"}
    visible = [record.c.deleted.is_(False), scope.records(record, matched)]
    if field == "name":
        key = " ".join(n.fold(prefix).split())
        if len(key.replace(" ", "")) < 2:
            raise BadRequest("parameter 'prefix': type at least 2 letters", parameter="prefix")
        lo = f"ta:{key}"
        ids = (
            select(search_term.c.term, search_term.c.record_id)
            .where(search_term.c.term >= lo, search_term.c.term < _upper(lo))
            .order_by(search_term.c.term)
            .limit(SCAN)
            .subquery("c")
        )
        stmt = (
            select(ids.c.term, record.c.id, record.c.master_id, record.c.entity_type, search_doc.c.title)
            .select_from(
                ids.join(record, record.c.id == ids.c.record_id).join(
                    search_doc, search_doc.c.record_id == record.c.id
                )
            )
            .where(*visible)
            .order_by(ids.c.term, record.c.id)
        )
    else:
        key = n.fold(prefix).replace(" ", "")
        if len(key) < 2:
            raise BadRequest("parameter 'prefix': type at least 2 letters or digits", parameter="prefix")
        ids = (
            select(search_doc.c.vrm.label("term"), search_doc.c.record_id, search_doc.c.title)
            .where(search_doc.c.vrm >= key, search_doc.c.vrm < _upper(key))
            .order_by(search_doc.c.vrm)
            .limit(SCAN)
            .subquery("c")
        )
        stmt = (
            select(ids.c.term, record.c.id, record.c.master_id, record.c.entity_type, ids.c.title)
            .select_from(ids.join(record, record.c.id == ids.c.record_id))
            .where(*visible)
            .order_by(ids.c.term, record.c.id)
        )
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for term, rid, master_id, entity_type, title in conn.execute(stmt):
        if master_id in seen:
            continue
        seen.add(master_id)
        label = title if field == "name" else f"{term} ({title})" if title and title != term else term
        out.append({"label": label, "master_id": master_id, "record_id": rid, "entity_type": entity_type})
        if len(out) >= limit:
            break
    return {"field": field, "prefix": prefix, "suggestions": out}
