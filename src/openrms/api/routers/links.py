"""Links between records: create, read, new versions (dates, retraction), history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from openrms.api.deps import database, read_scope
from openrms.api.models import LinkCreate, LinkUpdate
from openrms.api.responses import JSON
from openrms.store import links
from openrms.store.database import Database
from openrms.store.provenance import Provenance
from openrms.store.scope import ReadScope

router = APIRouter(prefix="/links", tags=["links"])
Db = Annotated[Database, Depends(database)]
Scope = Annotated[ReadScope, Depends(read_scope)]


@router.post("", status_code=201, summary="Link two records (the type must allow their entity types)")
def create_link(body: LinkCreate, response: Response, db: Db) -> dict[str, Any]:
    item = links.NewLink(
        body.link_type,
        body.from_id,
        body.to_id,
        Provenance(**body.provenance.model_dump()),
        body.valid_from,
        body.valid_to,
        body.data,
    )
    with db.write() as conn:
        outcome = links.upsert_links(conn, [item])[0]
    response.headers["Location"] = f"/links/{outcome['id']}"
    return outcome


@router.get("/{link_id}", summary="Read a link")
def get_link(link_id: str, db: Db, scope: Scope) -> dict[str, Any]:
    with db.read() as conn:
        return JSON(links.get_link(conn, link_id, scope))


@router.put("/{link_id}", summary="New version of a link (dates, notes, or retraction); 409 if stale")
def update_link(link_id: str, body: LinkUpdate, db: Db) -> dict[str, Any]:
    with db.write() as conn:
        return links.update_link(
            conn,
            link_id,
            body.version,
            recorded_by=body.recorded_by,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            data=body.data,
            deleted=body.deleted,
            reason=body.reason,
        )


@router.get("/{link_id}/history", summary="Every version of a link")
def link_history(link_id: str, db: Db, scope: Scope) -> dict[str, Any]:
    with db.read() as conn:
        return JSON({"id": link_id, "versions": links.link_history(conn, link_id, scope)})
