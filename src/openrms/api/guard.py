"""What every route does around its work: check the action is allowed, and put it on the audit trail.

Reads are filtered by the read scope inside their queries (see `openrms.access.policy`); writes are checked
here with `decide()` against the target record's markings before anything is written. Every route records
what it disclosed or changed with `audited(...)`, one append to the hash-chained trail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, select

from openrms.access import audit
from openrms.access.model import RANK, Subject, classification_of, scope_of
from openrms.access.policy import Policy, Resource
from openrms.api import deps
from openrms.errors import BadRequest, Forbidden, NotFound
from openrms.store.provenance import normalise_classification
from openrms.store.tables import record, record_restriction

Access = Annotated[Policy, Depends(deps.policy)]
Caller = Annotated[Subject, Depends(deps.current_subject)]


def require(subject: Subject, action: str) -> None:
    """403 unless the subject's roles (and token scopes) allow `action`, saying which of the two is short:
    a token whose user may import but whose scopes are `admin` needs another token, not another role."""
    if subject.can(action):
        return
    if action in subject.actions:
        scopes = ", ".join(sorted(subject.scopes)) or "none"
        raise Forbidden(
            f"this token's scopes ({scopes}) do not allow '{action}': it needs a token with the "
            f"'{scope_of(action)}' scope (openrms token create ... --scope {scope_of(action)})"
        )
    roles = ", ".join(sorted(subject.roles)) or "none"
    raise Forbidden(f"your roles ({roles}) do not allow '{action}'")


def resource_of(conn: Connection, record_id: str) -> Resource | None:
    row = conn.execute(
        select(record.c.agency, record.c.entity_type, record.c.classification, record.c.handling).where(
            record.c.id == record_id
        )
    ).first()
    if row is None:
        return None
    principals = conn.execute(
        select(record_restriction.c.principal).where(record_restriction.c.record_id == record_id)
    ).scalars()
    return Resource(row.agency, row.entity_type, row.classification, row.handling, frozenset(principals))


def check_record(conn: Connection, policy: Policy, record_id: str, action: str) -> Resource:
    """The record's markings if `action` on it is permitted; 404 when the caller may not even see it (so a
    hidden record answers like a missing one), 403 when they see it but may not do this."""
    require(policy.subject, action)
    resource = resource_of(conn, record_id)
    if resource is None or not policy.decide("read", resource).permit:
        raise NotFound(f"no record {record_id}")
    decision = policy.decide(action, resource)
    if not decision.permit:
        raise Forbidden(f"you may not {action} record {record_id}: {decision.why}")
    return resource


def own_provenance(subject: Subject, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """Provenance for a write by `subject`: their agency (another agency's is refused) and, unless given,
    their username as `recorded_by`; a classification above their vetting is refused."""
    out = dict(provenance)
    agency = (out.get("agency") or subject.agency).strip().upper()
    if agency != subject.agency:
        raise Forbidden(f"you record for {subject.agency}; provenance.agency {agency!r} is another agency")
    out["agency"] = agency
    out["recorded_by"] = out.get("recorded_by") or subject.username
    check_marking(subject, out.get("classification"))
    return out


def check_marking(subject: Subject, marking: str | None) -> None:
    """403 for a classification above the subject's vetting (legacy markings mapped first; an unknown
    marking is left for the provenance check to refuse with its own message)."""
    if not marking:
        return
    try:
        canonical = normalise_classification(marking)
    except BadRequest:
        return
    if RANK[classification_of(canonical)] > subject.rank:
        raise Forbidden(f"you cannot mark a record {marking}: above your vetting ({subject.vetting})")


@contextmanager
def disclosing(request: Request) -> Iterator[Connection]:
    """The transaction of a read whose `audited(...)` entry is written inside the block.

    On PostgreSQL the entry commits in the same transaction as the read: one transaction instead of two,
    and nothing is disclosed if the entry cannot be written. With $OPENRMS_AUDIT_READ_COMMIT=async that
    commit does not wait for the disk (`audit.append(durable=False)`), which spares reads the flush's
    delays when the database's disk is busy. On SQLite the read stays a read (a write
    transaction would queue behind other writers) and the entry is appended just after it ends: a commit
    made while a read is still open cannot checkpoint the WAL, and retries (with an fsync) on every later
    commit until it can."""
    db = request.app.state.db
    if db.dialect != "postgresql":
        pending: list[audit.AuditEvent] = []
        request.state.audit_pending = pending
        try:
            with db.read() as conn:
                yield conn
        finally:
            request.state.audit_pending = None
        if pending:
            with db.write() as write:
                audit.append_many(write, pending)
        return
    with db.write() as conn:
        request.state.audit_conn = conn
        try:
            yield conn
        finally:
            request.state.audit_conn = None


def audited(
    request: Request,
    action: str,
    record_ids: Iterable[str] = (),
    detail: dict[str, Any] | None = None,
    conn: Connection | None = None,
) -> None:
    """Append an entry for this request: who, their agency, purpose and reason, what they did and which
    records it disclosed or changed. Given a write connection, the entry commits with the write."""
    subject: Subject | None = getattr(request.state, "subject", None)
    entry = {
        "actor": subject.username if subject else "anonymous",
        "agency": subject.agency if subject else None,
        "action": action,
        "purpose": subject.purpose if subject else None,
        "reason": subject.reason if subject else None,
        "detail": {"method": request.method, "path": request.url.path, **(detail or {})},
        "record_ids": sorted(set(record_ids)),
        "now": dt.datetime.now(dt.UTC),
    }
    if conn is not None:
        audit.append(conn, **entry)
        return
    read = getattr(request.state, "audit_conn", None)
    if read is not None:
        audit.append(read, **entry, durable=request.app.state.audit_reads_durable)
        return
    pending = getattr(request.state, "audit_pending", None)
    if pending is not None:
        pending.append(audit.AuditEvent(**entry))
        return
    with request.app.state.db.write() as write:
        audit.append(write, **entry)


def check_members(conn: Connection, policy: Policy, master_ids: Iterable[str]) -> list[str]:
    """The records of `master_ids`, all of which the caller must see before changing membership: a master
    they see none of is 404; one with records hidden from them is 403 (the hidden records stay unnamed)."""
    wanted = sorted(set(master_ids))
    everyone = conn.execute(
        select(record.c.id, record.c.master_id).where(record.c.master_id.in_(wanted))
    ).all()
    visible = set(
        conn.execute(
            select(record.c.id).where(record.c.master_id.in_(wanted), policy.records(record))
        ).scalars()
    )
    for master_id in wanted:
        members = [r.id for r in everyone if r.master_id == master_id]
        seen = [m for m in members if m in visible]
        if not seen:
            raise NotFound(f"no master {master_id}")
        if len(seen) < len(members):
            raise Forbidden(
                f"master {master_id} holds records you may not see; only someone who sees them all may "
                "merge or split it"
            )
    return [r.id for r in everyone]


def check_visible(conn: Connection, policy: Policy, record_ids: Iterable[str]) -> None:
    """404 for the first of `record_ids` the caller may not see."""
    wanted = sorted(set(record_ids))
    seen = set(
        conn.execute(select(record.c.id).where(record.c.id.in_(wanted), policy.records(record))).scalars()
    )
    for rid in wanted:
        if rid not in seen:
            raise NotFound(f"no record {rid}")
