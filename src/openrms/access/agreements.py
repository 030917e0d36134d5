"""Sharing agreements between agencies and restrictions of records to named users or units.

An agreement is proposed by either side, approved by an administrator of each side, and in force from its
start to its end unless revoked. Revocation is immediate: every request loads the agreements in force when
it starts (`policy.load_agreements`), so nothing caches a revoked one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from openrms.access.model import PURPOSES, Subject
from openrms.access.policy import agreement_of
from openrms.errors import BadRequest, Forbidden, NotFound
from openrms.schema import registry
from openrms.store.ids import random_id
from openrms.store.tables import agency, record, record_restriction, sharing_agreement, unit, user_account


def _check_types(entity_types: Mapping[str, Sequence[str] | None]) -> dict[str, list[str] | None]:
    reg = registry()
    if not entity_types:
        raise BadRequest("an agreement must share at least one entity type")
    clean: dict[str, list[str] | None] = {}
    for name, fields in entity_types.items():
        etype = reg.entity_types.get(name)
        if etype is None:
            raise BadRequest(
                f"entity_types: unknown entity type {name!r}; known: {', '.join(sorted(reg.entity_types))}"
            )
        if fields is None:
            clean[name] = None
            continue
        unknown = sorted(set(fields) - set(etype.fields))
        if unknown:
            raise BadRequest(
                f"entity_types.{name}: {etype.label} has no field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(etype.fields))}"
            )
        clean[name] = sorted(set(fields))
    return clean


def _check_agency(conn: Connection, code: str, role: str) -> str:
    code = code.strip().upper()
    if conn.execute(select(agency.c.code).where(agency.c.code == code)).first() is None:
        raise BadRequest(f"{role}: no agency {code!r}; create it first (openrms agency add)")
    return code


def propose(
    conn: Connection,
    *,
    name: str,
    provider: str,
    recipient: str,
    entity_types: Mapping[str, Sequence[str] | None],
    purposes: Iterable[str],
    valid_from: dt.datetime,
    valid_to: dt.datetime | None,
    by: Subject,
    now: dt.datetime,
) -> dict[str, Any]:
    """A new agreement, approved by the proposing side (an administrator of provider or recipient)."""
    provider = _check_agency(conn, provider, "provider")
    recipient = _check_agency(conn, recipient, "recipient")
    if provider == recipient:
        raise BadRequest("provider and recipient are the same agency; an agency always sees its own records")
    if by.agency not in (provider, recipient):
        raise Forbidden(f"only an administrator of {provider} or {recipient} may propose this agreement")
    wanted = sorted(set(purposes))
    unknown = [p for p in wanted if p not in PURPOSES]
    if not wanted or unknown:
        raise BadRequest(f"purposes: give one or more of {', '.join(PURPOSES)}; unknown: {unknown}")
    if valid_to is not None and valid_to <= valid_from:
        raise BadRequest("valid_to must be after valid_from")
    agreement_id = random_id()
    side = "provider" if by.agency == provider else "recipient"
    conn.execute(
        insert(sharing_agreement).values(
            id=agreement_id,
            name=name.strip() or f"{provider} to {recipient}",
            provider=provider,
            recipient=recipient,
            entity_types=_check_types(entity_types),
            purposes=wanted,
            valid_from=valid_from,
            valid_to=valid_to,
            created_at=now,
            created_by=by.username,
            **{f"{side}_approved_by": by.username, f"{side}_approved_at": now},
        )
    )
    return get(conn, agreement_id)


def _row(conn: Connection, agreement_id: str) -> Any:
    row = conn.execute(select(sharing_agreement).where(sharing_agreement.c.id == agreement_id)).first()
    if row is None:
        raise NotFound(f"no sharing agreement {agreement_id}")
    return row


def approve(conn: Connection, agreement_id: str, by: Subject, now: dt.datetime) -> dict[str, Any]:
    """The other side's approval (or a re-approval by either side, which changes nothing)."""
    row = _row(conn, agreement_id)
    if row.revoked_at is not None:
        raise BadRequest(
            f"agreement {agreement_id} was revoked on {row.revoked_at:%Y-%m-%d}; propose a new one"
        )
    sides = [s for s, code in (("provider", row.provider), ("recipient", row.recipient)) if code == by.agency]
    if not sides:
        raise Forbidden(f"only an administrator of {row.provider} or {row.recipient} may approve it")
    side = sides[0]
    if getattr(row, f"{side}_approved_at") is None:
        conn.execute(
            update(sharing_agreement)
            .where(sharing_agreement.c.id == agreement_id)
            .values(**{f"{side}_approved_by": by.username, f"{side}_approved_at": now})
        )
    return get(conn, agreement_id)


def revoke(conn: Connection, agreement_id: str, by: Subject, now: dt.datetime) -> dict[str, Any]:
    """Either side may revoke; it stops applying to the very next request."""
    row = _row(conn, agreement_id)
    if by.agency not in (row.provider, row.recipient):
        raise Forbidden(f"only an administrator of {row.provider} or {row.recipient} may revoke it")
    if row.revoked_at is None:
        conn.execute(
            update(sharing_agreement)
            .where(sharing_agreement.c.id == agreement_id)
            .values(revoked_at=now, revoked_by=by.username)
        )
    return get(conn, agreement_id)


def _view(row: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    agreement = agreement_of(row)
    now = now or dt.datetime.now(dt.UTC)
    return {
        "id": row.id,
        "name": row.name,
        "provider": row.provider,
        "recipient": row.recipient,
        "entity_types": row.entity_types,
        "purposes": row.purposes,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
        "provider_approved_by": row.provider_approved_by,
        "recipient_approved_by": row.recipient_approved_by,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "revoked_by": row.revoked_by,
        "in_force": agreement.in_force(now),
        "created_by": row.created_by,
    }


def get(conn: Connection, agreement_id: str) -> dict[str, Any]:
    return _view(_row(conn, agreement_id))


def list_agreements(conn: Connection, agency_code: str | None = None) -> list[dict[str, Any]]:
    query = select(sharing_agreement).order_by(sharing_agreement.c.created_at)
    if agency_code:
        code = agency_code.upper()
        query = query.where((sharing_agreement.c.provider == code) | (sharing_agreement.c.recipient == code))
    return [_view(r) for r in conn.execute(query)]


# ---- restrictions ----


def _principal(conn: Connection, name: str) -> str:
    """ "user:<username or id>" or "unit:<AGENCY>/<code>", checked to exist, in stored form."""
    kind, _, value = name.partition(":")
    if kind == "user" and value:
        row = conn.execute(
            select(user_account.c.id).where((user_account.c.username == value) | (user_account.c.id == value))
        ).first()
        if row is None:
            raise BadRequest(f"restriction: no user {value!r}")
        return f"user:{row.id}"
    if kind == "unit" and "/" in value:
        code, _, unit_code = value.partition("/")
        found = conn.execute(
            select(unit.c.code).where(unit.c.agency == code.upper(), unit.c.code == unit_code)
        ).first()
        if found is None:
            raise BadRequest(f"restriction: no unit {unit_code!r} in agency {code.upper()!r}")
        return f"unit:{code.upper()}/{unit_code}"
    raise BadRequest(f"restriction: {name!r} should be user:<username> or unit:<AGENCY>/<unit code>")


def _own_visible(conn: Connection, record_id: str, by: Subject) -> None:
    """Only the owning agency restricts its records, and only someone who may already see the record (an
    existing restriction that leaves the caller out hides the record from them: 404, as if missing)."""
    row = conn.execute(select(record.c.agency).where(record.c.id == record_id)).first()
    have = restrictions(conn, record_id)
    if row is None or row.agency != by.agency or (have and not set(have) & set(by.principals)):
        raise NotFound(f"no record {record_id}")


def restrict(
    conn: Connection, record_id: str, principals: Iterable[str], by: Subject, now: dt.datetime
) -> list[str]:
    """Restrict a record of the caller's agency to named users or units (the caller is always kept, so
    nobody locks themselves out by mistake). Returns the principals now allowed."""
    _own_visible(conn, record_id, by)
    names = {_principal(conn, p) for p in principals} | {f"user:{by.user_id}"}
    have = set(restrictions(conn, record_id))
    conn.execute(
        insert(record_restriction),
        [
            {"record_id": record_id, "principal": p, "added_at": now, "added_by": by.username}
            for p in sorted(names - have)
        ],
    )
    return restrictions(conn, record_id)


def unrestrict(conn: Connection, record_id: str, by: Subject) -> None:
    _own_visible(conn, record_id, by)
    conn.execute(delete(record_restriction).where(record_restriction.c.record_id == record_id))


def restrictions(conn: Connection, record_id: str) -> list[str]:
    return list(
        conn.execute(
            select(record_restriction.c.principal)
            .where(record_restriction.c.record_id == record_id)
            .order_by(record_restriction.c.principal)
        ).scalars()
    )
