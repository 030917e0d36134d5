"""Sharing agreements between agencies, and restrictions of records to named users or units."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from openrms.access import agreements
from openrms.api.deps import database
from openrms.api.guard import Access, Caller, audited, check_record, require
from openrms.store.database import Database

router = APIRouter(tags=["sharing"])
Db = Annotated[Database, Depends(database)]


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, examples=["WYP to CPS Yorkshire: case files"])
    provider: str = Field(description="Agency whose records are shared", examples=["WYP"])
    recipient: str = Field(description="Agency that may see them", examples=["CPSY"])
    entity_types: dict[str, list[str] | None] = Field(
        description="Entity type -> the fields shared (null: every field); others are redacted",
        examples=[{"crime": None, "person": ["forenames", "surname", "date_of_birth"]}],
    )
    purposes: list[str] = Field(examples=[["prosecution"]])
    valid_from: dt.datetime | None = Field(None, description="Default: now")
    valid_to: dt.datetime | None = None


class RestrictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    principals: list[str] = Field(
        min_length=1, description="user:<username> or unit:<AGENCY>/<unit code>", examples=[["user:dc.smith"]]
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)


@router.get("/agreements", summary="Sharing agreements your agency provides or receives")
def list_agreements(db: Db, caller: Caller) -> dict[str, Any]:
    with db.read() as conn:
        return {"items": agreements.list_agreements(conn, caller.agency)}


@router.post("/agreements", status_code=201, summary="Propose an agreement (approved by your side)")
def propose(body: AgreementIn, request: Request, db: Db, caller: Caller) -> dict[str, Any]:
    require(caller, "manage_agreements")
    now = _now()
    with db.write() as conn:
        out = agreements.propose(
            conn,
            name=body.name,
            provider=body.provider,
            recipient=body.recipient,
            entity_types=body.entity_types,
            purposes=body.purposes,
            valid_from=_aware(body.valid_from) or now,
            valid_to=_aware(body.valid_to),
            by=caller,
            now=now,
        )
        audited(
            request,
            "agreement-proposed",
            (),
            {"agreement": out["id"], "terms": body.model_dump(mode="json")},
            conn=conn,
        )
    return out


@router.post("/agreements/{agreement_id}/approve", summary="Approve an agreement for your side")
def approve(agreement_id: str, request: Request, db: Db, caller: Caller) -> dict[str, Any]:
    require(caller, "manage_agreements")
    with db.write() as conn:
        out = agreements.approve(conn, agreement_id, caller, _now())
        audited(request, "agreement-approved", (), {"agreement": agreement_id}, conn=conn)
    return out


@router.post("/agreements/{agreement_id}/revoke", summary="Revoke an agreement: it stops applying at once")
def revoke(agreement_id: str, request: Request, db: Db, caller: Caller) -> dict[str, Any]:
    require(caller, "manage_agreements")
    with db.write() as conn:
        out = agreements.revoke(conn, agreement_id, caller, _now())
        audited(request, "agreement-revoked", (), {"agreement": agreement_id}, conn=conn)
    return out


@router.get("/records/{record_id}/restrictions", tags=["records"], summary="Who a record is restricted to")
def get_restrictions(record_id: str, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    with db.read() as conn:
        check_record(conn, scope, record_id, "read")
        return {"id": record_id, "principals": agreements.restrictions(conn, record_id)}


@router.put(
    "/records/{record_id}/restrictions", tags=["records"], summary="Restrict a record to named users or units"
)
def put_restrictions(
    record_id: str, body: RestrictionIn, request: Request, db: Db, scope: Access
) -> dict[str, Any]:
    with db.write() as conn:
        check_record(conn, scope, record_id, "update")
        allowed = agreements.restrict(conn, record_id, body.principals, scope.subject, _now())
        audited(request, "restrict", [record_id], {"principals": allowed}, conn=conn)
    return {"id": record_id, "principals": allowed}


@router.delete("/records/{record_id}/restrictions", tags=["records"], summary="Lift a record's restriction")
def delete_restrictions(record_id: str, request: Request, db: Db, scope: Access) -> dict[str, Any]:
    with db.write() as conn:
        check_record(conn, scope, record_id, "update")
        agreements.unrestrict(conn, record_id, scope.subject)
        audited(request, "unrestrict", [record_id], conn=conn)
    return {"id": record_id, "principals": []}
