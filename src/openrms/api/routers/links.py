"""Links between records: create, read, new versions (dates, retraction), history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from openrms.api.deps import database
from openrms.api.guard import Access, audited, check_record, disclosing, own_provenance, require
from openrms.api.models import LinkCreate, LinkUpdate
from openrms.api.responses import JSON
from openrms.errors import Forbidden
from openrms.store import links
from openrms.store.database import Database
from openrms.store.provenance import Provenance

router = APIRouter(prefix="/links", tags=["links"])
Db = Annotated[Database, Depends(database)]


@router.post("", status_code=201, summary="Link two records (the type must allow their entity types)")
def create_link(
    body: LinkCreate, request: Request, response: Response, db: Db, scope: Access
) -> dict[str, Any]:
    require(scope.subject, "link")
    item = links.NewLink(
        body.link_type,
        body.from_id,
        body.to_id,
        Provenance(**own_provenance(scope.subject, body.provenance.model_dump())),
        body.valid_from,
        body.valid_to,
        body.data,
    )
    with db.write() as conn:
        # linking needs only to see both ends: an officer may link their suspect to a shared record
        for end in (body.from_id, body.to_id):
            check_record(conn, scope, end, "read")
        outcome = links.upsert_links(conn, [item])[0]
        audited(request, "link", [body.from_id, body.to_id], {"link": outcome["id"]}, conn=conn)
    response.headers["Location"] = f"/links/{outcome['id']}"
    return outcome


@router.get("/{link_id}", summary="Read a link")
def get_link(link_id: str, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    with disclosing(request) as conn:
        found = links.get_link(conn, link_id, scope)
        audited(request, "read-link", [found["from_id"], found["to_id"]], {"link": link_id})
    return JSON(found)


@router.put("/{link_id}", summary="New version of a link (dates, notes, or retraction); 409 if stale")
def update_link(link_id: str, body: LinkUpdate, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    require(scope.subject, "link")
    with db.write() as conn:
        current = links.get_link(conn, link_id, scope)
        if current["provenance"]["agency"] != scope.subject.agency:
            raise Forbidden(
                f"link {link_id} belongs to {current['provenance']['agency']}; only it may change it"
            )
        audited(request, "update-link", [current["from_id"], current["to_id"]], {"link": link_id}, conn=conn)
        return links.update_link(
            conn,
            link_id,
            body.version,
            recorded_by=body.recorded_by or scope.subject.username,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            data=body.data,
            deleted=body.deleted,
            reason=body.reason,
        )


@router.get("/{link_id}/history", summary="Every version of a link")
def link_history(link_id: str, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    with disclosing(request) as conn:
        versions = links.link_history(conn, link_id, scope)
        audited(request, "read-link", [versions[-1]["from_id"], versions[-1]["to_id"]], {"link": link_id})
    return JSON({"id": link_id, "versions": versions})
