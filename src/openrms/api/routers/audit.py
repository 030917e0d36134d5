"""The audit trail over HTTP, for auditors: list and filter entries, who saw a record, what a user did, and
verify the hash chain.

Every route needs the "audit" action (the auditor role; a token also needs the "audit" scope). Reading the
trail is itself put on the trail (action "audit-read"), after the read, so an auditor's look at who saw a
record is as visible as the look itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from openrms.access import audit
from openrms.access.model import Subject
from openrms.api.deps import current_subject, database
from openrms.api.guard import require
from openrms.api.responses import JSON
from openrms.errors import BadRequest
from openrms.schema.types import FieldTypeError, utc
from openrms.store.database import Database

router = APIRouter(tags=["audit"])
Db = Annotated[Database, Depends(database)]
Auditor = Annotated[Subject, Depends(current_subject)]
Since = Annotated[
    dt.datetime | None, Query(description="From this time (inclusive); without an offset, UK local time")
]
Until = Annotated[dt.datetime | None, Query(description="Before this time (exclusive)")]


def _allowed(subject: Subject) -> Subject:
    require(subject, "audit")
    return subject


def _moment(name: str, value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return utc(value)
    except FieldTypeError as exc:
        raise BadRequest(f"{name} {exc}") from None


def _audit_read(request: Request, db: Database, subject: Subject, detail: dict[str, Any]) -> None:
    entry = {
        "actor": subject.username,
        "agency": subject.agency,
        "action": "audit-read",
        "purpose": subject.purpose,
        "reason": subject.reason,
        "detail": {"method": request.method, "path": request.url.path, **detail},
    }
    with db.write() as conn:
        audit.append(conn, **entry)


@router.get("/audit", summary="Audit entries, filtered, a page at a time")
def list_entries(
    request: Request,
    db: Db,
    subject: Auditor,
    actor: Annotated[str | None, Query(description="Only this user's entries")] = None,
    action: Annotated[
        str | None, Query(description="Only this action (read, list, search, update, ...)")
    ] = None,
    record_id: Annotated[str | None, Query(description="Only entries naming this record")] = None,
    since: Since = None,
    until: Until = None,
    order: Annotated[Literal["newest", "oldest"], Query(description="Newest or oldest first")] = "newest",
    after: Annotated[
        int | None,
        Query(ge=0, le=2**63 - 1, description="Continue after this seq (the last page's next_after)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Each entry with its seq, time, actor, agency, action, purpose, reason, detail, the ids of the
    records it disclosed or changed, and its hash and prev_hash. `next_after` is null on the last page."""
    _allowed(subject)
    with db.read() as conn:
        items = audit.entries(
            conn,
            actor=actor,
            action=action,
            record_id=record_id,
            since=_moment("since", since),
            until=_moment("until", until),
            after_seq=after,
            limit=limit + 1,
            newest_first=order == "newest",
        )
    more = len(items) > limit
    items = items[:limit]
    _audit_read(request, db, subject, {"query": dict(request.query_params), "returned": len(items)})
    return JSON({"items": items, "next_after": items[-1]["seq"] if more else None})


@router.get("/audit/verify", summary="Check the audit trail's hash chain is intact")
def verify(request: Request, db: Db, subject: Auditor) -> dict[str, Any]:
    """Recomputes every entry's hash and checks every link. `ok` is false when an entry was changed,
    removed, replaced or reordered, each listed in `problems` by entry number. `head` is the last entry's
    seq and hash: record it elsewhere to anchor the chain (see docs/access/audit.md)."""
    _allowed(subject)
    with db.read() as conn:
        result = audit.verify(conn)
    _audit_read(request, db, subject, {"verified": result.checked, "ok": result.ok})
    return JSON(result.as_dict())


@router.get("/audit/records/{record_id}", summary="Who saw or changed a record, newest first")
def who_saw(
    record_id: str,
    request: Request,
    db: Db,
    subject: Auditor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """Every entry that disclosed or changed the record: when, who, their agency, what they did, and the
    purpose and reason they declared."""
    _allowed(subject)
    with db.read() as conn:
        items = audit.who_saw(conn, record_id, limit=limit)
    _audit_read(request, db, subject, {"record": record_id, "returned": len(items)})
    return JSON({"record_id": record_id, "items": items})


@router.get("/audit/users/{actor}", summary="What a user did, newest first")
def by_user(
    actor: str,
    request: Request,
    db: Db,
    subject: Auditor,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """Each of the user's entries with the ids of the records it disclosed or changed."""
    _allowed(subject)
    with db.read() as conn:
        items = audit.by_user(
            conn, actor, since=_moment("since", since), until=_moment("until", until), limit=limit
        )
    _audit_read(request, db, subject, {"user": actor, "returned": len(items)})
    return JSON({"actor": actor, "items": items})
