"""Records: create (one route per entity type, documented from the registry), read, update, history, list."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from openrms.access.model import is_sensitive
from openrms.api.deps import database
from openrms.api.guard import (
    Access,
    audited,
    check_marking,
    check_record,
    disclosing,
    own_provenance,
    require,
)
from openrms.api.models import RecordRetract, RecordUpdate, create_model_for
from openrms.api.responses import JSON
from openrms.errors import BadRequest, Forbidden
from openrms.schema import registry
from openrms.schema.types import FieldTypeError, utc
from openrms.store import records as writes
from openrms.store import views
from openrms.store.database import Database
from openrms.store.links import links_of
from openrms.store.provenance import Provenance

router = APIRouter(prefix="/records", tags=["records"])
Db = Annotated[Database, Depends(database)]


def _created(response: Response, outcome: writes.WriteOutcome) -> dict[str, Any]:
    response.headers["Location"] = f"/records/{outcome.id}"
    return outcome.as_dict()


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _add_create_route(entity_type: str) -> None:
    body_model = create_model_for(entity_type)
    label = registry().entity(entity_type).label

    def create(
        body: body_model, request: Request, response: Response, db: Db, scope: Access
    ) -> dict[str, Any]:  # type: ignore[valid-type]
        payload: BaseModel = body
        require(scope.subject, "create")
        prov = Provenance(**own_provenance(scope.subject, payload.provenance.model_dump()))  # type: ignore[attr-defined]
        data = payload.data.model_dump(exclude_none=True)  # type: ignore[attr-defined]  (extras included)
        with db.write() as conn:
            outcome = writes.create_record(conn, writes.NewRecord(entity_type, data, prov))
            audited(request, "create", [outcome.id], {"entity_type": entity_type}, conn=conn)
        return _created(response, outcome)

    # The body type is built at run time, so give FastAPI the class itself rather than a string annotation.
    create.__annotations__["body"] = body_model
    router.add_api_route(
        f"/{entity_type}",
        create,
        methods=["POST"],
        status_code=201,
        summary=f"Create {_article(label)} {label.lower()}",
        name=f"create_{entity_type}",
        description=f"Validates against the registry's `{entity_type}` type and stores version 1. "
        "A source key already used by this agency and system is a 409.",
    )


for _name in registry().entity_types:
    _add_create_route(_name)


def _field_filters(request: Request) -> dict[str, str]:
    return {k[6:]: v for k, v in request.query_params.items() if k.startswith("field.")}


@router.get("", summary="List records, filtered, in pages")
def list_records(
    request: Request,
    db: Db,
    scope: Access,
    entity_type: str | None = None,
    agency: str | None = None,
    source_system: str | None = None,
    master_id: str | None = None,
    include_deleted: bool = False,
    after: Annotated[str | None, Query(description="next_after from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=views.MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Filter on any single-valued field with `field.<name>=<value>` (value normalised first)."""
    known = {"entity_type", "agency", "source_system", "master_id", "include_deleted", "after", "limit"}
    unknown = [k for k in request.query_params if k not in known and not k.startswith("field.")]
    if unknown:
        raise BadRequest(f"unknown query parameters {unknown}; filter fields as field.<name>=<value>")
    with disclosing(request) as conn:
        page = views.list_records(
            conn,
            scope,
            entity_type=entity_type,
            agency=agency,
            source_system=source_system,
            master_id=master_id,
            fields=_field_filters(request),
            include_deleted=include_deleted,
            after=after,
            limit=limit,
        )
        audited(request, "list", [i["id"] for i in page.items], {"query": dict(request.query_params)})
    return JSON({"items": page.items, "next_after": page.next_after})


@router.get("/{record_id}", summary="Read a record, now, at a version, or as at a time")
def get_record(
    record_id: str,
    request: Request,
    db: Db,
    scope: Access,
    as_at: dt.datetime | None = None,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    if as_at is not None:
        try:
            as_at = utc(as_at)  # like field values: a time without an offset is UK local time
        except FieldTypeError as exc:
            raise BadRequest(f"as_at {exc}") from None
    with disclosing(request) as conn:
        view = views.get_record(conn, record_id, scope, as_at=as_at, version=version)
        _reason_for_sensitive(scope, view)
        audited(request, "read", [record_id], {"version": view["version"]})
    return JSON(view)


def _reason_for_sensitive(scope: Access, view: dict[str, Any]) -> None:
    """Viewing a sensitive record (above OFFICIAL, or not freely shareable) needs a stated reason."""
    prov = view["provenance"]
    if is_sensitive(prov["classification"], prov["handling"]) and not scope.subject.reason:
        raise Forbidden(
            f"record {view['id']} is {prov['classification']} (handling {prov['handling']}): "
            "give a reason for viewing it in the X-OpenRMS-Reason header"
        )


@router.get("/{record_id}/history", summary="Every version of a record, oldest first")
def get_history(record_id: str, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    with disclosing(request) as conn:
        versions = views.history(conn, record_id, scope)
        _reason_for_sensitive(scope, versions[-1])
        audited(request, "read-history", [record_id])
    return JSON({"id": record_id, "versions": versions})


@router.get("/{record_id}/links", summary="Links of a record whose other end you may see")
def get_links(
    record_id: str, request: Request, db: Db, scope: Access, link_type: str | None = None
) -> dict[str, Any]:
    with disclosing(request) as conn:
        views.get_record(conn, record_id, scope)
        found = links_of(conn, [record_id], scope, link_type=link_type)
        audited(request, "read-links", {record_id} | {e for x in found for e in (x["from_id"], x["to_id"])})
    return JSON({"id": record_id, "links": found})


def _update(
    record_id: str, body: RecordUpdate, request: Request, db: Database, scope: Access, merge: bool
) -> dict[str, Any]:
    subject = scope.subject
    check_marking(subject, body.classification)
    with db.write() as conn:
        check_record(conn, scope, record_id, "update")
        outcome = writes.update_record(
            conn,
            record_id,
            body.data,
            body.version,
            recorded_by=body.recorded_by or subject.username,
            merge=merge,
            classification=body.classification,
            handling=body.handling,
            handling_conditions=body.handling_conditions,
            reason=body.reason,
        )
        audited(request, "update", [record_id], {"version": outcome.version}, conn=conn)
    return outcome.as_dict()


@router.put("/{record_id}", summary="Replace a record's data (new version); 409 if `version` is stale")
def put_record(record_id: str, body: RecordUpdate, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    return _update(record_id, body, request, db, scope, merge=False)


@router.patch("/{record_id}", summary="Change some fields (new version); null removes a field; 409 if stale")
def patch_record(
    record_id: str, body: RecordUpdate, request: Request, db: Db, scope: Access
) -> dict[str, Any]:
    return _update(record_id, body, request, db, scope, merge=True)


@router.post("/{record_id}/retract", summary="Mark a record deleted at its source (history is kept)")
def retract(record_id: str, body: RecordRetract, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    with db.write() as conn:
        check_record(conn, scope, record_id, "delete")
        by = body.recorded_by or scope.subject.username
        count = writes.retract_records(conn, [record_id], recorded_by=by, reason=body.reason)
        audited(request, "retract", [record_id], {"reason": body.reason}, conn=conn)
    return {"id": record_id, "retracted": bool(count)}
