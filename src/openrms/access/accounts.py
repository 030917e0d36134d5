"""Administration of agencies, their units and their users.

Used by the admin API (`/admin/...`), the CLI (`openrms agency|user ...`) and OIDC provisioning. Every
change is validated against the vocabulary in `openrms.access.model` (agency kinds, roles, vetting levels)
and appended to the audit trail in the caller's transaction ("agency-created", "unit-created",
"user-created", "user-updated", "password-set"). `by` is who is doing it: a Subject (the API: their
username, agency, purpose and reason go on the trail) or a plain name (the CLI, tests).

Usernames are case-insensitive (stored in lower case); agency codes are upper case ("WYP").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from openrms.access import audit, authn, passwords
from openrms.access.model import AGENCY_KINDS, ROLES, Subject, clearance
from openrms.errors import BadRequest, Conflict, NotFound
from openrms.store.ids import random_id
from openrms.store.tables import agency as agency_table
from openrms.store.tables import unit as unit_table
from openrms.store.tables import user_account

Actor = str | Subject

_AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
_UNIT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,119}")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()  # "leave as it is", for update_user's arguments that may be set to None


def _audit(
    conn: Connection,
    action: str,
    by: Actor,
    now: dt.datetime,
    detail: dict[str, Any],
    agency: str | None = None,
) -> None:
    if isinstance(by, Subject):
        audit.append(
            conn,
            actor=by.username,
            agency=by.agency,
            action=action,
            purpose=by.purpose,
            reason=by.reason,
            detail=detail,
            now=now,
        )
    else:
        audit.append(conn, actor=str(by), agency=agency, action=action, detail=detail, now=now)


def _by_name(by: Actor) -> str:
    return by.username if isinstance(by, Subject) else str(by)


def _text(value: Any, what: str, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > limit:
        raise BadRequest(f"{what} must be 1 to {limit} characters")
    if "\x00" in text:
        raise BadRequest(f"{what} cannot contain a NUL character")
    return text


# ---- agencies and units ----


def agency_code(code: str) -> str:
    """An agency code in canonical (upper-case) form; BadRequest if it cannot be one."""
    value = code.strip().upper() if isinstance(code, str) else ""
    if not _AGENCY_CODE.fullmatch(value):
        raise BadRequest(
            f"agency code {code!r} should be 1 to 40 letters, digits, '-' or '_' "
            "(e.g. WYP for West Yorkshire Police)"
        )
    return value


def create_agency(
    conn: Connection, code: str, name: str, kind: str, now: dt.datetime, by: Actor = "system"
) -> dict[str, Any]:
    """A new agency. `kind` is one of AGENCY_KINDS; a code already in use is a Conflict."""
    code = agency_code(code)
    name = _text(name, "the agency's name", 200)
    if kind not in AGENCY_KINDS:
        raise BadRequest(f"unknown agency kind {kind!r}; expected one of {', '.join(AGENCY_KINDS)}")
    if _agency_row(conn, code) is not None:
        raise Conflict(f"agency {code} already exists")
    conn.execute(agency_table.insert().values(code=code, name=name, kind=kind, created_at=now, active=True))
    _audit(conn, "agency-created", by, now, {"code": code, "name": name, "kind": kind})
    return get_agency(conn, code)


def _agency_row(conn: Connection, code: str) -> Any:
    return conn.execute(select(agency_table).where(agency_table.c.code == code)).first()


def _known_agency(conn: Connection, code: str) -> str:
    value = agency_code(code)
    if _agency_row(conn, value) is None:
        known = ", ".join(conn.execute(select(agency_table.c.code).order_by(agency_table.c.code)).scalars())
        raise BadRequest(
            f"unknown agency {value!r}; "
            + (f"known agencies: {known}" if known else "no agency exists yet: create one first")
        )
    return value


def _units(conn: Connection, codes: Sequence[str] | None = None) -> dict[str, list[dict[str, str]]]:
    query = select(unit_table).order_by(unit_table.c.agency, unit_table.c.code)
    if codes is not None:
        query = query.where(unit_table.c.agency.in_(codes))
    out: dict[str, list[dict[str, str]]] = {}
    for row in conn.execute(query):
        out.setdefault(row.agency, []).append({"code": row.code, "name": row.name})
    return out


def _agency_view(row: Any, units: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "active": bool(row.active),
        "created_at": row.created_at,
        "units": units,
    }


def get_agency(conn: Connection, code: str) -> dict[str, Any]:
    value = agency_code(code)
    row = _agency_row(conn, value)
    if row is None:
        raise NotFound(f"no agency {value}")
    return _agency_view(row, _units(conn, [value]).get(value, []))


def list_agencies(conn: Connection) -> list[dict[str, Any]]:
    """Every agency with its units, by code."""
    units = _units(conn)
    rows = conn.execute(select(agency_table).order_by(agency_table.c.code)).all()
    return [_agency_view(row, units.get(row.code, [])) for row in rows]


def add_unit(
    conn: Connection, agency: str, code: str, name: str, by: Actor = "system", now: dt.datetime | None = None
) -> dict[str, Any]:
    """A unit (team, station, department) of an agency, e.g. CID; users may belong to one, and a record may
    be restricted to one. Codes are kept as given (case matters in "unit:WYP/CID")."""
    agency = _known_agency(conn, agency)
    value = code.strip() if isinstance(code, str) else ""
    if not _UNIT_CODE.fullmatch(value):
        raise BadRequest(f"unit code {code!r} should be 1 to 40 letters, digits, '.', '-' or '_' (e.g. CID)")
    name = _text(name, "the unit's name", 200)
    exists = conn.execute(
        select(unit_table.c.code).where(unit_table.c.agency == agency, unit_table.c.code == value)
    ).first()
    if exists is not None:
        raise Conflict(f"agency {agency} already has a unit {value}")
    conn.execute(unit_table.insert().values(agency=agency, code=value, name=name))
    _audit(
        conn,
        "unit-created",
        by,
        now or dt.datetime.now(dt.UTC),
        {"agency": agency, "code": value, "name": name},
    )
    return {"agency": agency, "code": value, "name": name}


def _check_unit(conn: Connection, agency: str, unit: str | None) -> str | None:
    if unit is None:
        return None
    value = unit.strip() if isinstance(unit, str) else ""
    found = conn.execute(
        select(unit_table.c.code).where(unit_table.c.agency == agency, unit_table.c.code == value)
    ).first()
    if found is None:
        known = ", ".join(u["code"] for u in _units(conn, [agency]).get(agency, []))
        raise BadRequest(
            f"agency {agency} has no unit {unit!r}; "
            + (f"its units: {known}" if known else "it has no units yet: add one first")
        )
    return value


# ---- users ----


def username_of(username: str) -> str:
    """A username in canonical (lower-case) form; BadRequest if it cannot be one."""
    value = username.strip().lower() if isinstance(username, str) else ""
    if not _USERNAME.fullmatch(value):
        raise BadRequest(
            f"username {username!r} should be 1 to 120 letters, digits or . _ @ + - (e.g. pc.1234 or "
            "jo.bloggs@force.police.uk), starting with a letter or digit"
        )
    return value


def check_roles(roles: Sequence[str]) -> list[str]:
    """The roles, deduplicated and sorted; BadRequest naming any unknown role, or if there is none."""
    if isinstance(roles, str):
        roles = [roles]
    if not roles:
        raise BadRequest(f"give the user at least one role: {', '.join(ROLES)}")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise BadRequest(f"unknown role(s) {', '.join(map(repr, unknown))}; expected {', '.join(ROLES)}")
    return sorted(set(roles))


def check_vetting(vetting: str) -> str:
    """The classification a vetting level clears for ("NPPV2" -> "OFFICIAL-SENSITIVE"); BadRequest if
    unknown."""
    try:
        return clearance(vetting if isinstance(vetting, str) else "")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def create_user(
    conn: Connection,
    username: str,
    display_name: str,
    agency: str,
    roles: Sequence[str],
    vetting: str,
    password: str | None,
    now: dt.datetime,
    by: Actor,
    unit: str | None = None,
    external_id: str | None = None,
) -> dict[str, Any]:
    """A new user of `agency`. `password` None makes an account that cannot sign in with a password (a
    system that uses only API tokens, or someone who signs in through OIDC) until one is set."""
    username = username_of(username)
    display_name = _text(display_name, "the display name", 200)
    agency = _known_agency(conn, agency)
    roles = check_roles(roles)
    vetting = check_vetting(vetting)
    unit = _check_unit(conn, agency, unit)
    password_hash = passwords.hash_password(password) if password is not None else None
    if conn.execute(select(user_account.c.id).where(user_account.c.username == username)).first():
        raise Conflict(f"username {username!r} is already taken")
    user_id = random_id()
    try:
        with conn.begin_nested():
            conn.execute(
                user_account.insert().values(
                    id=user_id,
                    username=username,
                    display_name=display_name,
                    agency=agency,
                    unit=unit,
                    roles=roles,
                    vetting=vetting,
                    password_hash=password_hash,
                    external_id=external_id,
                    active=True,
                    failed_attempts=0,
                    created_at=now,
                    created_by=_by_name(by)[:120],
                )
            )
    except IntegrityError:  # a concurrent create of the same username (or external id)
        raise Conflict(f"username {username!r} is already taken") from None
    detail = {
        "user": user_id,
        "username": username,
        "agency": agency,
        "unit": unit,
        "roles": roles,
        "vetting": vetting,
        "local_sign_in": password is not None,
        "external": external_id is not None,
    }
    _audit(conn, "user-created", by, now, detail, agency)
    return get_user(conn, user_id)


_USER_VIEW = (
    user_account.c.id,
    user_account.c.username,
    user_account.c.display_name,
    user_account.c.agency,
    user_account.c.unit,
    user_account.c.roles,
    user_account.c.vetting,
    user_account.c.active,
    user_account.c.failed_attempts,
    user_account.c.locked_until,
    user_account.c.created_at,
    user_account.c.created_by,
    user_account.c.external_id,
    (user_account.c.password_hash.is_not(None)).label("has_password"),
)


def _user_view(row: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    moment = now or dt.datetime.now(dt.UTC)
    locked = row.locked_until is not None and row.locked_until > moment
    return {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "agency": row.agency,
        "unit": row.unit,
        "roles": list(row.roles or []),
        "vetting": row.vetting,
        "active": bool(row.active),
        "locked_until": row.locked_until if locked else None,
        "failed_attempts": row.failed_attempts,
        "has_password": bool(row.has_password),
        "external": row.external_id is not None,
        "created_at": row.created_at,
        "created_by": row.created_by,
    }


def _user_row(conn: Connection, ref: str) -> Any:
    if not isinstance(ref, str) or not 0 < len(ref) <= 200 or "\x00" in ref:
        return None
    row = conn.execute(select(*_USER_VIEW).where(user_account.c.id == ref)).first()
    if row is None:
        row = conn.execute(select(*_USER_VIEW).where(user_account.c.username == ref.strip().lower())).first()
    return row


def get_user(conn: Connection, ref: str) -> dict[str, Any]:
    """A user by id or username (never the password hash); NotFound if there is none."""
    row = _user_row(conn, ref)
    if row is None:
        raise NotFound(f"no user {ref!r}")
    return _user_view(row)


def list_users(conn: Connection, agency: str | None = None) -> list[dict[str, Any]]:
    """Users (of one agency, or all) by username."""
    query = select(*_USER_VIEW).order_by(user_account.c.username)
    if agency is not None:
        query = query.where(user_account.c.agency == agency_code(agency))
    now = dt.datetime.now(dt.UTC)
    return [_user_view(row, now) for row in conn.execute(query)]


def _keeps_an_administrator(conn: Connection, user: dict[str, Any], roles: list[str], active: bool) -> None:
    """Conflict if the change would leave the user's agency with no active administrator."""
    was = user["active"] and "administrator" in user["roles"]
    stays = active and "administrator" in roles
    if not was or stays:
        return
    others = [
        u
        for u in list_users(conn, user["agency"])
        if u["id"] != user["id"] and u["active"] and "administrator" in u["roles"]
    ]
    if not others:
        raise Conflict(
            f"{user['username']} is the last active administrator of {user['agency']}; make someone else "
            "an administrator first"
        )


def update_user(
    conn: Connection,
    user_id: str,
    now: dt.datetime,
    by: Actor,
    *,
    display_name: str | None = None,
    roles: Sequence[str] | None = None,
    vetting: str | None = None,
    unit: str | _Unset | None = UNSET,
    active: bool | None = None,
) -> dict[str, Any]:
    """Change a user's display name, roles, vetting, unit (None: no unit) or whether the account is
    active. Arguments left out stay as they are. Disabling an account ends its sessions at once (its
    tokens stop working too, while it is disabled). Audited as "user-updated" with each change's old and
    new value. Conflict if it would leave the user's agency without an active administrator."""
    user = get_user(conn, user_id)
    values: dict[str, Any] = {}
    if display_name is not None:
        values["display_name"] = _text(display_name, "the display name", 200)
    if roles is not None:
        values["roles"] = check_roles(roles)
    if vetting is not None:
        values["vetting"] = check_vetting(vetting)
    if not isinstance(unit, _Unset):
        values["unit"] = _check_unit(conn, user["agency"], unit)
    if active is not None:
        values["active"] = bool(active)
    changes = {k: [user[k], v] for k, v in values.items() if user[k] != v}
    if not changes:
        return user
    _keeps_an_administrator(
        conn, user, values.get("roles", user["roles"]), values.get("active", user["active"])
    )
    conn.execute(update(user_account).where(user_account.c.id == user["id"]).values(**values))
    detail: dict[str, Any] = {"user": user["id"], "username": user["username"], "changes": changes}
    if values.get("active") is False:
        detail["sessions_ended"] = authn.end_sessions_of(conn, user["id"], now)
    _audit(conn, "user-updated", by, now, detail, user["agency"])
    return get_user(conn, user["id"])


def set_password(
    conn: Connection, user_id: str, password: str, now: dt.datetime, by: Actor
) -> dict[str, Any]:
    """Set a user's password (checked against the policy), clear any lock-out and end their sessions, so
    whoever knew the old password is signed out. Audited as "password-set" (without the password)."""
    user = get_user(conn, user_id)
    password_hash = passwords.hash_password(password)
    conn.execute(
        update(user_account)
        .where(user_account.c.id == user["id"])
        .values(password_hash=password_hash, failed_attempts=0, locked_until=None)
    )
    ended = authn.end_sessions_of(conn, user["id"], now)
    detail = {"user": user["id"], "username": user["username"], "sessions_ended": ended}
    _audit(conn, "password-set", by, now, detail, user["agency"])
    return get_user(conn, user["id"])


def unlock_user(conn: Connection, user_id: str, now: dt.datetime, by: Actor) -> dict[str, Any]:
    """Clear a lock-out (and the count of failed sign-ins). Audited as "user-updated"."""
    user = get_user(conn, user_id)
    row = conn.execute(
        select(user_account.c.failed_attempts, user_account.c.locked_until).where(
            user_account.c.id == user["id"]
        )
    ).one()
    conn.execute(
        update(user_account)
        .where(user_account.c.id == user["id"])
        .values(failed_attempts=0, locked_until=None)
    )
    detail = {
        "user": user["id"],
        "username": user["username"],
        "unlocked": True,
        "was_locked_until": row.locked_until.isoformat() if row.locked_until else None,
        "failed_attempts": row.failed_attempts,
    }
    _audit(conn, "user-updated", by, now, detail, user["agency"])
    return get_user(conn, user["id"])
