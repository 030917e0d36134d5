"""POST /match: check a record against the master index without saving it (entry forms, partner feeds)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from openrms.api.deps import database
from openrms.api.guard import Access, audited, disclosing
from openrms.api.responses import JSON
from openrms.store.database import Database

router = APIRouter(tags=["master index"])
Db = Annotated[Database, Depends(database)]


class MatchRequest(BaseModel):
    entity_type: str = Field(examples=["person"], max_length=40)
    data: dict[str, Any] = Field(
        examples=[{"forenames": "Jon", "surname": "Smyth", "date_of_birth": "1985-03-02"}],
        description="The record as it would be saved; partial is fine (what the officer has typed so far).",
    )
    limit: int = Field(10, ge=1, le=50)


@router.post(
    "/match",
    summary="Masters this record may describe: graded candidates (certain, probable, possible) and why",
    description=(
        "Nothing is saved. Each candidate has its probability and, per field, the evidence for or against. "
        "A candidate the caller may not see appears only under `restricted`, as the agency to contact."
    ),
)
def match_record(body: MatchRequest, request: Request, db: Db, scope: Access) -> Any:
    from openrms.identity.resolver import match

    with disclosing(request) as conn:
        found = match(conn, body.entity_type, body.data, scope, limit=body.limit)
        shown = [c["record_id"] for c in found["candidates"]]
        audited(
            request, "match", shown, {"entity_type": body.entity_type, "restricted": len(found["restricted"])}
        )
    return JSON(found)
