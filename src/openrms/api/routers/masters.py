"""Masters and the review queue: golden views, history, merge, split, unmerge, judgements, CSV export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from openrms.api.deps import database
from openrms.api.guard import Access, audited, check_members, check_visible, disclosing, require
from openrms.api.responses import JSON, attachment
from openrms.errors import NotFound
from openrms.identity import export, judgements, membership, survivorship
from openrms.store.database import Database
from openrms.store.tables import judgement, membership_change, record

router = APIRouter()
Db = Annotated[Database, Depends(database)]
Scope = Access
Decision = Literal["same", "different", "unsure"]
Reason = Field(None, max_length=2000, description="Why: kept with the event or judgement")


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    master_ids: list[str] = Field(description="The masters to merge; the oldest survives")
    reason: str | None = Reason


class SplitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_ids: list[str] = Field(description="Records of this master to split off, each to its own master")
    reason: str | None = Reason


class UndoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Reason


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Decision
    reason: str | None = Reason


class JudgementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_a: str
    record_b: str
    decision: Decision
    reason: str | None = Reason


# ---- masters (export comes before /masters/{id}, which would otherwise take "export" as an id) ----


@router.get(
    "/masters/export",
    tags=["masters"],
    summary="Which master each live record of a type resolves to, as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_masters(
    request: Request,
    db: Db,
    scope: Scope,
    entity_type: Annotated[str, Query(alias="type", examples=["person"])],
) -> StreamingResponse:
    """Columns agency, source_system, source_key, record_id, master_id; one row per record, in id order."""
    require(scope.subject, "export")
    export.check_entity_type(entity_type)
    audited(request, "export", (), {"what": "masters", "entity_type": entity_type})

    def body() -> Any:
        with db.read() as conn:
            yield from export.csv_chunks(conn, entity_type, scope)

    return attachment(body(), "text/csv; charset=utf-8", f"masters-{entity_type}.csv")


@router.get("/masters/{master_id}", tags=["masters"], summary="A master: source records, golden view, links")
def get_master(
    master_id: str,
    request: Request,
    db: Db,
    scope: Scope,
    history: Annotated[bool, Query(description="Also list the master's membership history")] = False,
) -> dict[str, Any]:
    """Each golden value names the record, agency and source system it came from and the survivorship rule
    that chose it."""
    with disclosing(request) as conn:
        view = survivorship.master_view(conn, master_id, scope, with_history=history)
        audited(request, "read-master", [r["id"] for r in view["records"]], {"master": master_id})
    return JSON(view)


@router.get("/masters/{master_id}/history", tags=["masters"], summary="Every membership change, newest first")
def get_history(master_id: str, request: Request, db: Db, scope: Scope) -> dict[str, Any]:
    with disclosing(request) as conn:
        events = membership.history(conn, master_id, scope=scope)
        audited(request, "read-master-history", (), {"master": master_id})
    return JSON({"id": master_id, "events": events})


@router.post("/masters/merge", tags=["masters"], summary="Merge masters into the oldest of them")
def merge(body: MergeBody, request: Request, db: Db, scope: Scope) -> dict[str, Any]:
    """409 if a person judged records of two of them different: record a new judgement first."""
    require(scope.subject, "merge")
    with db.write() as conn:
        moved = check_members(conn, scope, body.master_ids)
        result = membership.merge_masters(conn, body.master_ids, by=scope.actor, reason=body.reason)
        audited(request, "merge", moved, {"masters": body.master_ids, "event": result.event_id}, conn=conn)
    return {"event_id": result.event_id, "master_id": result.master_id}


@router.post("/masters/{master_id}/split", tags=["masters"], summary="Split records off a master")
def split(master_id: str, body: SplitBody, request: Request, db: Db, scope: Scope) -> dict[str, Any]:
    """Each record goes back to a master of its own; 409 if a record already is alone in its master."""
    require(scope.subject, "merge")
    with db.write() as conn:
        check_members(conn, scope, [master_id])
        event_id = membership.split_records(
            conn, body.record_ids, by=scope.actor, reason=body.reason, from_master=master_id
        )
        audited(request, "split", body.record_ids, {"master": master_id, "event": event_id}, conn=conn)
    return {"event_id": event_id}


@router.post(
    "/masters/events/{event_id}/undo", tags=["masters"], summary="Undo a merge or split exactly (unmerge)"
)
def undo(event_id: str, body: UndoBody, request: Request, db: Db, scope: Scope) -> dict[str, Any]:
    """409 if it was undone already or one of its records has moved since."""
    require(scope.subject, "merge")
    with db.write() as conn:
        moved = list(
            conn.execute(
                select(membership_change.c.record_id).where(membership_change.c.event_id == event_id)
            ).scalars()
        )
        check_visible(conn, scope, moved)
        new_id = membership.undo(conn, event_id, by=scope.actor, reason=body.reason)
        audited(request, "undo", moved, {"event": event_id, "undo_event": new_id}, conn=conn)
    return {"event_id": new_id, "undoes": event_id}


# ---- the review queue and judgements ----


@router.get("/review", tags=["review"], summary="Pairs the model left for a person, most likely first")
def review_queue(
    request: Request,
    db: Db,
    scope: Scope,
    entity_type: Annotated[str | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=judgements.MAX_PAGE)] = 50,
    after: Annotated[str | None, Query(description="next_after from the previous page")] = None,
) -> dict[str, Any]:
    with disclosing(request) as conn:
        items = judgements.review_queue(conn, entity_type=entity_type, limit=limit, after=after, scope=scope)
        audited(request, "review-list", {i[k] for i in items for k in ("record_a", "record_b") if k in i})
    next_after = items[-1]["judgement_id"] if len(items) == limit else None
    return JSON({"items": items, "next_after": next_after})


@router.get("/review/{judgement_id}", tags=["review"], summary="One judged pair, side by side")
def review_item(judgement_id: str, request: Request, db: Db, scope: Scope) -> dict[str, Any]:
    with disclosing(request) as conn:
        item = judgements.review_item(conn, judgement_id, scope=scope)
        audited(request, "review-read", _pair(item), {"judgement": judgement_id})
    return JSON(item)


def _pair(item: dict[str, Any]) -> list[str]:
    return [item[k] for k in ("record_a", "record_b") if isinstance(item.get(k), str)]


@router.post(
    "/review/{judgement_id}/decision", tags=["review"], summary="Decide a queued pair and apply the decision"
)
def decide(judgement_id: str, body: DecisionBody, request: Request, db: Db, scope: Scope) -> dict[str, Any]:
    """same merges the two masters, different splits the later record off a shared master, unsure only
    records the decision. 409 if a person already decided the pair."""
    require(scope.subject, "review")
    with db.write() as conn:
        pair = conn.execute(
            select(judgement.c.record_a, judgement.c.record_b).where(judgement.c.id == judgement_id)
        ).first()
        if pair is None:
            raise NotFound(f"no judgement {judgement_id}")
        _check_pair(conn, scope, pair.record_a, pair.record_b, body.decision)
        outcome = judgements.decide(conn, judgement_id, body.decision, by=scope.actor, reason=body.reason)
        audited(
            request, "judge", list(pair), {"judgement": judgement_id, "decision": body.decision}, conn=conn
        )
        return outcome


def _check_pair(conn: Any, scope: Scope, a: str, b: str, decision: str) -> None:
    """Both records visible; a decision that merges or splits needs every record of both masters visible."""
    check_visible(conn, scope, [a, b])
    if decision != "unsure":
        require(scope.subject, "merge")
        masters = conn.execute(select(record.c.master_id).where(record.c.id.in_([a, b]))).scalars()
        check_members(conn, scope, set(masters))


@router.post("/judgements", tags=["review"], status_code=201, summary="Judge a pair of records, and apply it")
def judge(body: JudgementBody, request: Request, response: Response, db: Db, scope: Scope) -> dict[str, Any]:
    """A person's judgement: it becomes the pair's current one, and is applied as a review decision is."""
    require(scope.subject, "review")
    with db.write() as conn:
        _check_pair(conn, scope, body.record_a, body.record_b, body.decision)
        outcome = judgements.judge(
            conn, body.record_a, body.record_b, body.decision, by=scope.actor, reason=body.reason
        )
        audited(request, "judge", [body.record_a, body.record_b], {"decision": body.decision}, conn=conn)
    response.headers["Location"] = f"/review/{outcome['judgement_id']}"
    return outcome
