"""Masters and the review queue: golden views, history, merge, split, unmerge, judgements, CSV export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from openrms.api.deps import database, read_scope
from openrms.api.responses import JSON
from openrms.identity import export, judgements, membership, survivorship
from openrms.store.database import Database
from openrms.store.scope import ReadScope

router = APIRouter()
Db = Annotated[Database, Depends(database)]
Scope = Annotated[ReadScope, Depends(read_scope)]
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
    db: Db, scope: Scope, entity_type: Annotated[str, Query(alias="type", examples=["person"])]
) -> StreamingResponse:
    """Columns agency, source_system, source_key, record_id, master_id; one row per record, in id order."""
    export.check_entity_type(entity_type)

    def body() -> Any:
        with db.read() as conn:
            yield from export.csv_chunks(conn, entity_type, scope)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="masters-{entity_type}.csv"'},
    )


@router.get("/masters/{master_id}", tags=["masters"], summary="A master: source records, golden view, links")
def get_master(
    master_id: str,
    db: Db,
    scope: Scope,
    history: Annotated[bool, Query(description="Also list the master's membership history")] = False,
) -> dict[str, Any]:
    """Each golden value names the record, agency and source system it came from and the survivorship rule
    that chose it."""
    with db.read() as conn:
        return JSON(survivorship.master_view(conn, master_id, scope, with_history=history))


@router.get("/masters/{master_id}/history", tags=["masters"], summary="Every membership change, newest first")
def get_history(master_id: str, db: Db, scope: Scope) -> dict[str, Any]:
    with db.read() as conn:
        return JSON({"id": master_id, "events": membership.history(conn, master_id, scope=scope)})


@router.post("/masters/merge", tags=["masters"], summary="Merge masters into the oldest of them")
def merge(body: MergeBody, db: Db, scope: Scope) -> dict[str, Any]:
    """409 if a person judged records of two of them different: record a new judgement first."""
    with db.write() as conn:
        result = membership.merge_masters(conn, body.master_ids, by=scope.actor, reason=body.reason)
    return {"event_id": result.event_id, "master_id": result.master_id}


@router.post("/masters/{master_id}/split", tags=["masters"], summary="Split records off a master")
def split(master_id: str, body: SplitBody, db: Db, scope: Scope) -> dict[str, Any]:
    """Each record goes back to a master of its own; 409 if a record already is alone in its master."""
    with db.write() as conn:
        event_id = membership.split_records(
            conn, body.record_ids, by=scope.actor, reason=body.reason, from_master=master_id
        )
    return {"event_id": event_id}


@router.post(
    "/masters/events/{event_id}/undo", tags=["masters"], summary="Undo a merge or split exactly (unmerge)"
)
def undo(event_id: str, body: UndoBody, db: Db, scope: Scope) -> dict[str, Any]:
    """409 if it was undone already or one of its records has moved since."""
    with db.write() as conn:
        new_id = membership.undo(conn, event_id, by=scope.actor, reason=body.reason)
    return {"event_id": new_id, "undoes": event_id}


# ---- the review queue and judgements ----


@router.get("/review", tags=["review"], summary="Pairs the model left for a person, most likely first")
def review_queue(
    db: Db,
    scope: Scope,
    entity_type: Annotated[str | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=judgements.MAX_PAGE)] = 50,
    after: Annotated[str | None, Query(description="next_after from the previous page")] = None,
) -> dict[str, Any]:
    with db.read() as conn:
        items = judgements.review_queue(conn, entity_type=entity_type, limit=limit, after=after, scope=scope)
    next_after = items[-1]["judgement_id"] if len(items) == limit else None
    return JSON({"items": items, "next_after": next_after})


@router.get("/review/{judgement_id}", tags=["review"], summary="One judged pair, side by side")
def review_item(judgement_id: str, db: Db, scope: Scope) -> dict[str, Any]:
    with db.read() as conn:
        return JSON(judgements.review_item(conn, judgement_id, scope=scope))


@router.post(
    "/review/{judgement_id}/decision", tags=["review"], summary="Decide a queued pair and apply the decision"
)
def decide(judgement_id: str, body: DecisionBody, db: Db, scope: Scope) -> dict[str, Any]:
    """same merges the two masters, different splits the later record off a shared master, unsure only
    records the decision. 409 if a person already decided the pair."""
    with db.write() as conn:
        return judgements.decide(conn, judgement_id, body.decision, by=scope.actor, reason=body.reason)


@router.post("/judgements", tags=["review"], status_code=201, summary="Judge a pair of records, and apply it")
def judge(body: JudgementBody, response: Response, db: Db, scope: Scope) -> dict[str, Any]:
    """A person's judgement: it becomes the pair's current one, and is applied as a review decision is."""
    with db.write() as conn:
        outcome = judgements.judge(
            conn, body.record_a, body.record_b, body.decision, by=scope.actor, reason=body.reason
        )
    response.headers["Location"] = f"/review/{outcome['judgement_id']}"
    return outcome
