"""Administration: agencies, units, users and API tokens.

Every route needs the "manage_users" action (the administrator role; a token also needs the "admin"
scope). An administrator manages the units, users and tokens of their own agency only: another agency's
users and tokens answer 404, exactly like ones that do not exist. Agencies themselves are listed and
created by any administrator. Every change is on the audit trail (see `openrms.access.accounts`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from openrms.access import accounts, authn
from openrms.access.model import AGENCY_KINDS, PURPOSES, ROLES, TOKEN_SCOPES, Subject
from openrms.api.deps import current_subject, database
from openrms.api.guard import require
from openrms.api.routers.auth import In
from openrms.errors import BadRequest, Forbidden, NotFound
from openrms.store.database import Database

router = APIRouter(tags=["admin"])
Db = Annotated[Database, Depends(database)]


def _administrator(subject: Annotated[Subject, Depends(current_subject)]) -> Subject:
    require(subject, "manage_users")
    return subject


Admin = Annotated[Subject, Depends(_administrator)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AgencyIn(In):
    code: str = Field(min_length=1, max_length=40, examples=["WYP"])
    name: str = Field(min_length=1, max_length=200, examples=["West Yorkshire Police"])
    kind: str = Field(description=f"One of {', '.join(AGENCY_KINDS)}", examples=["police"])


class UnitIn(In):
    code: str = Field(min_length=1, max_length=40, examples=["CID"])
    name: str = Field(min_length=1, max_length=200, examples=["Criminal Investigation Department"])


class UserIn(In):
    username: str = Field(min_length=1, max_length=120, examples=["dc.smith"])
    display_name: str = Field(min_length=1, max_length=200, examples=["DC Jo Smith"])
    agency: str | None = Field(None, description="Default (and only choice): your agency")
    roles: list[str] = Field(
        min_length=1, description=f"From {', '.join(ROLES)}", examples=[["investigator"]]
    )
    vetting: str = Field(examples=["NPPV2"], description="A vetting level or the classification it clears")
    unit: str | None = Field(None, examples=["CID"])
    password: str | None = Field(
        None, max_length=1024, description="At least 12 characters; leave out for OIDC or token-only users"
    )


class UserPatch(In):
    display_name: str | None = Field(None, min_length=1, max_length=200)
    roles: list[str] | None = Field(None, min_length=1, max_length=len(ROLES))
    vetting: str | None = None
    unit: str | None = Field(None, description="null: no unit")
    active: bool | None = Field(None, description="false disables the account and ends its sessions")


class PasswordIn(In):
    password: str = Field(max_length=1024, description="At least 12 characters")


class AdminTokenIn(In):
    user: str = Field(min_length=1, max_length=120, description="The user's id or username")
    name: str = Field(min_length=1, max_length=120, examples=["Niche nightly export"])
    scopes: list[str] = Field(min_length=1, max_length=4, description=f"From {', '.join(TOKEN_SCOPES)}")
    purpose: str | None = Field(None, description=f"One of {', '.join(PURPOSES)}")
    days: int | None = Field(None, ge=1, le=3650, description="Days until it expires; null: never")


# ---- agencies and units ----


@router.get("/admin/agencies", summary="Agencies and their units")
def list_agencies(db: Db, admin: Admin) -> dict[str, Any]:
    with db.read() as conn:
        return {"items": accounts.list_agencies(conn)}


@router.post("/admin/agencies", status_code=201, summary="Add an agency")
def create_agency(body: AgencyIn, db: Db, admin: Admin) -> dict[str, Any]:
    with db.write() as conn:
        return accounts.create_agency(conn, body.code, body.name, body.kind, _now(), by=admin)


@router.post("/admin/agencies/{code}/units", status_code=201, summary="Add a unit to your agency")
def add_unit(code: str, body: UnitIn, db: Db, admin: Admin) -> dict[str, Any]:
    if code.strip().upper() != admin.agency:
        raise Forbidden(f"you administer {admin.agency} only; {code!r} is another agency")
    with db.write() as conn:
        return accounts.add_unit(conn, admin.agency, body.code, body.name, by=admin, now=_now())


# ---- users ----


def _own_user(conn: Any, admin: Subject, ref: str) -> dict[str, Any]:
    """A user of the administrator's agency; any other (or none) is 404, alike."""
    try:
        user = accounts.get_user(conn, ref)
    except NotFound:
        user = None
    if user is None or user["agency"] != admin.agency:
        raise NotFound(f"no user {ref!r} in {admin.agency}")
    return user


@router.get("/admin/users", summary="The users of your agency")
def list_users(db: Db, admin: Admin) -> dict[str, Any]:
    with db.read() as conn:
        return {"items": accounts.list_users(conn, admin.agency)}


@router.post("/admin/users", status_code=201, summary="Add a user to your agency")
def create_user(body: UserIn, db: Db, admin: Admin) -> dict[str, Any]:
    agency = (body.agency or admin.agency).strip().upper()
    if agency != admin.agency:
        raise Forbidden(f"you administer users of {admin.agency} only, not of {agency}")
    with db.write() as conn:
        return accounts.create_user(
            conn,
            body.username,
            body.display_name,
            agency,
            body.roles,
            body.vetting,
            body.password,
            _now(),
            admin,
            unit=body.unit,
        )


@router.get("/admin/users/{user_id}", summary="One user of your agency")
def get_user(user_id: str, db: Db, admin: Admin) -> dict[str, Any]:
    with db.read() as conn:
        return _own_user(conn, admin, user_id)


@router.patch("/admin/users/{user_id}", summary="Change a user's roles, vetting, unit, name or status")
def update_user(user_id: str, body: UserPatch, db: Db, admin: Admin) -> dict[str, Any]:
    given = body.model_fields_set
    for name in ("display_name", "roles", "vetting", "active"):
        if name in given and getattr(body, name) is None:
            raise BadRequest(f"{name} cannot be null; leave it out to keep it as it is")
    with db.write() as conn:
        user = _own_user(conn, admin, user_id)
        return accounts.update_user(
            conn,
            user["id"],
            _now(),
            admin,
            display_name=body.display_name,
            roles=body.roles,
            vetting=body.vetting,
            unit=body.unit if "unit" in given else accounts.UNSET,
            active=body.active,
        )


@router.post("/admin/users/{user_id}/password", summary="Set a user's password (ends their sessions)")
def set_password(user_id: str, body: PasswordIn, db: Db, admin: Admin) -> dict[str, Any]:
    with db.write() as conn:
        user = _own_user(conn, admin, user_id)
        return accounts.set_password(conn, user["id"], body.password, _now(), admin)


@router.post("/admin/users/{user_id}/unlock", summary="Clear a user's lock-out after failed sign-ins")
def unlock_user(user_id: str, db: Db, admin: Admin) -> dict[str, Any]:
    with db.write() as conn:
        user = _own_user(conn, admin, user_id)
        return accounts.unlock_user(conn, user["id"], _now(), admin)


# ---- tokens ----


@router.get("/admin/tokens", summary="API tokens of your agency's users (never the tokens themselves)")
def list_tokens(db: Db, admin: Admin, user: str | None = None) -> dict[str, Any]:
    with db.read() as conn:
        if user is not None:
            return {"items": authn.list_tokens(conn, _own_user(conn, admin, user)["id"])}
        return {"items": authn.list_tokens(conn, agency=admin.agency)}


@router.post("/admin/tokens", status_code=201, summary="Make an API token for a user (shown once)")
def create_token(body: AdminTokenIn, db: Db, admin: Admin) -> dict[str, Any]:
    """Scopes are limited to what the user's roles can use. The token is in the answer this once."""
    now = _now()
    with db.write() as conn:
        user = _own_user(conn, admin, body.user)
        holder = Subject(
            user["id"], user["username"], user["agency"], frozenset(user["roles"]), user["vetting"]
        )
        allowed = authn.scopes_for(holder)
        beyond = [s for s in body.scopes if s in TOKEN_SCOPES and s not in allowed]
        if beyond:
            raise BadRequest(
                f"{user['username']}'s roles ({', '.join(user['roles'])}) cannot use scope(s) "
                f"{', '.join(beyond)}; they can use {', '.join(allowed) or 'none'}"
            )
        expires_at = now + dt.timedelta(days=body.days) if body.days else None
        token_id, token = authn.create_token(
            conn, user["id"], body.name, body.scopes, body.purpose, now, expires_at, by=admin
        )
        view = authn.get_token(conn, token_id, now)
    return {**view, "token": token}


@router.delete("/admin/tokens/{token_id}", summary="Revoke a token: it stops working at once")
def revoke_token(token_id: str, db: Db, admin: Admin) -> dict[str, Any]:
    with db.write() as conn:
        try:
            found = authn.get_token(conn, token_id)
        except NotFound:
            found = None
        if found is None or found["agency"] != admin.agency:
            raise NotFound(f"no token {token_id} in {admin.agency}")
        return authn.revoke_token(conn, token_id, _now(), by=admin)
