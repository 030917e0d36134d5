"""The one policy decision point: `decide(subject, action, resource, purpose)`, and the same rules as SQL.

Two forms of one policy, kept side by side so they cannot drift apart:

- `decide()` answers for one record (permit, deny, or permit with redactions). Writes, merges and the
  authorisation-matrix tests use it.
- `Policy` is the caller's `ReadScope`: the same rules turned into SQL conditions that every read path (get,
  list, search with its counts and facets, links, master views, match, export) puts in its WHERE clause,
  so a record the caller may not see is never fetched and is indistinguishable from one that does not
  exist. Its `redact()` applies the field rules of `decide()` to what was fetched.

The property-based tests check the two agree: nothing a query returns is something `decide` denies.

The rules, in order:
1. The subject's roles must allow the action, and a purpose of access must be declared.
2. The record's classification must not exceed the subject's vetting.
3. A record restricted to named users or units is visible to those principals only.
4. The owning agency sees its records whole (sensitive fields only with `see_sensitive`).
5. Another agency sees a record only under a sharing agreement in force now, approved by both sides, for
   the record's entity type and the declared purpose, and only if the record's handling allows sharing
   (P or C; 5x5x5 handling 4 and 5 never leave the originator). Fields the agreement does not list are
   redacted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    String,
    Table,
    and_,
    bindparam,
    false,
    or_,
    select,
)

from openrms.access.model import CLASSIFICATIONS, RANK, SHAREABLE_HANDLING, Subject, classification_of
from openrms.schema import registry
from openrms.store.frozen import frozen
from openrms.store.tables import record_restriction, sharing_agreement

READ_ACTIONS = frozenset({"read", "export"})


@dataclass(frozen=True)
class Resource:
    """What a decision is about: a record's (or link's) markings."""

    agency: str
    entity_type: str
    classification: str = "OFFICIAL"
    handling: str = "P"
    restricted_to: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Agreement:
    """A sharing agreement as the policy needs it. `entity_types` maps a type to the fields shared (None:
    all of them)."""

    id: str
    name: str
    provider: str
    recipient: str
    entity_types: Mapping[str, tuple[str, ...] | None]
    purposes: frozenset[str]
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None
    approved: bool = True
    revoked: bool = False

    def in_force(self, now: dt.datetime) -> bool:
        return (
            self.approved
            and not self.revoked
            and self.valid_from <= now
            and (self.valid_to is None or now < self.valid_to)
        )

    def covers(self, subject: Subject, provider: str, entity_type: str) -> bool:
        return (
            self.recipient == subject.agency
            and self.provider == provider
            and subject.purpose in self.purposes
            and entity_type in self.entity_types
        )


@dataclass(frozen=True)
class Decision:
    """Permit or deny; a permit may come with redactions: only `fields` are shown (None: every field) and
    `hidden` are removed whatever `fields` says (the registry's sensitive fields)."""

    permit: bool
    why: str
    fields: frozenset[str] | None = None
    hidden: frozenset[str] = frozenset()
    agreement: str | None = None

    @property
    def effect(self) -> str:
        if not self.permit:
            return "deny"
        return "permit" if self.fields is None and not self.hidden else "permit-with-redactions"

    def redact(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: v
            for k, v in data.items()
            if k not in self.hidden and (self.fields is None or k in self.fields)
        }


def _deny(why: str) -> Decision:
    return Decision(False, why)


@cache
def sensitive_fields(entity_type: str) -> frozenset[str]:
    """Fields the registry marks sensitive (an intelligence source's identity): shown only to roles with
    `see_sensitive` (and, for another agency's record, only when the agreement shares that field)."""
    etype = registry().entity_types.get(entity_type)
    if etype is None:
        return frozenset()
    return frozenset(name for name, f in etype.fields.items() if f.sensitive)


def _field_union(agreements: Iterable[Agreement], entity_type: str) -> frozenset[str] | None:
    shared: set[str] = set()
    for agreement in agreements:
        fields = agreement.entity_types[entity_type]
        if fields is None:
            return None
        shared.update(fields)
    return frozenset(shared)


def decide(
    subject: Subject,
    action: str,
    resource: Resource,
    purpose: str | None,
    agreements: Iterable[Agreement] = (),
    now: dt.datetime | None = None,
) -> Decision:
    """The decision for `subject` doing `action` on `resource` for `purpose`, given the agreements known."""
    now = now or dt.datetime.now(dt.UTC)
    subject = subject if subject.purpose == purpose else subject.with_purpose(purpose)
    if not subject.can(action):
        return _deny(f"none of the roles {sorted(subject.roles)} may {action}")
    if purpose is None:
        return _deny("no purpose of access declared")
    if RANK[classification_of(resource.classification)] > subject.rank:
        return _deny(f"{resource.classification} is above the subject's vetting ({subject.vetting})")
    if resource.restricted_to and not set(subject.principals) & resource.restricted_to:
        return _deny("the record is restricted to named users or units")
    hidden = frozenset() if subject.can("see_sensitive") else sensitive_fields(resource.entity_type)
    if resource.agency == subject.agency:
        return Decision(True, "owning agency", None, hidden)
    if action not in READ_ACTIONS:
        return _deny(f"only the owning agency {resource.agency} may {action} its records")
    if resource.handling not in SHAREABLE_HANDLING:
        return _deny(f"handling {resource.handling}: not shared beyond the originating agency")
    covering = [
        a for a in agreements if a.in_force(now) and a.covers(subject, resource.agency, resource.entity_type)
    ]
    if not covering:
        return _deny(f"no sharing agreement in force from {resource.agency} for this type and purpose")
    fields = _field_union(covering, resource.entity_type)
    return Decision(True, "sharing agreement", fields, hidden, covering[0].id)


# ---------------------------------------------------------------------------------------------------------
# the same rules as SQL
# ---------------------------------------------------------------------------------------------------------


def load_agreements(conn: Connection, recipient: str, now: dt.datetime) -> list[Agreement]:
    """Agreements in force now that give `recipient` another agency's records (any purpose)."""
    a = sharing_agreement
    rows = conn.execute(
        select(a).where(
            a.c.recipient == recipient,
            a.c.revoked_at.is_(None),
            a.c.provider_approved_at.is_not(None),
            a.c.recipient_approved_at.is_not(None),
            a.c.valid_from <= now,
            or_(a.c.valid_to.is_(None), a.c.valid_to > now),
        )
    )
    return [agreement_of(row) for row in rows]


def agreement_of(row: Any) -> Agreement:
    return Agreement(
        id=row.id,
        name=row.name,
        provider=row.provider,
        recipient=row.recipient,
        entity_types={k: (tuple(v) if v is not None else None) for k, v in row.entity_types.items()},
        purposes=frozenset(row.purposes),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        approved=row.provider_approved_at is not None and row.recipient_approved_at is not None,
        revoked=row.revoked_at is not None,
    )


@lru_cache(maxsize=4096)
def _records_condition(
    table: Table,
    agency: str,
    above: tuple[str, ...],
    principals: tuple[str, ...],
    coverage: tuple[tuple[str, tuple[str, ...]], ...],
    any_agreement: bool = False,
) -> ColumnElement[bool]:
    """The SQL of `Policy.records`, built once per distinct set of inputs: building a SQLAlchemy expression
    costs more than running a small indexed query, and every request of the same kind of caller asks for the
    same one. The restriction subqueries are uncorrelated, so the database evaluates each once per query
    (SQLite builds a temporary index, PostgreSQL a hashed subplan) rather than probing per candidate row.
    `any_agreement`: as if every other agency shared everything shareable (see `Policy.mentionable`)."""
    t = table
    agency_ok: ColumnElement[bool] = t.c.agency == agency
    if any_agreement:
        agency_ok = or_(agency_ok, t.c.handling.in_(_values(SHAREABLE_HANDLING)))
    elif coverage:
        shared = [and_(t.c.agency == p, t.c.entity_type.in_(_values(types))) for p, types in coverage]
        agency_ok = or_(agency_ok, and_(t.c.handling.in_(_values(SHAREABLE_HANDLING)), or_(*shared)))
    rr = record_restriction
    restriction_ok = or_(
        t.c.id.not_in(select(rr.c.record_id)),
        t.c.id.in_(select(rr.c.record_id).where(rr.c.principal.in_(_values(principals)))),
    )
    vetting = [t.c.classification.not_in(_values(above))] if above else []
    return frozen(and_(*vetting, agency_ok, restriction_ok))


def _values(values: Iterable[str]) -> list[BindParameter[str]]:
    """An IN list as one bound parameter per value. A plain list becomes an "expanding" parameter, which
    SQLAlchemy re-renders into the SQL on every execution; these are fixed when the condition is built, so
    the compiled statement is reused as is."""
    return [bindparam(None, value, type_=String) for value in values]


@dataclass
class Policy:
    """A subject's read scope for one request: `decide()`'s rules as SQL, plus its redactions."""

    subject: Subject
    agreements: list[Agreement] = field(default_factory=list)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def load(cls, conn: Connection, subject: Subject, now: dt.datetime) -> Policy:
        return cls(subject, load_agreements(conn, subject.agency, now), now)

    def __post_init__(self) -> None:
        self._usable = [
            a for a in self.agreements if a.in_force(self.now) and a.recipient == self.subject.agency
        ]
        self._usable = [a for a in self._usable if self.subject.purpose in a.purposes]
        self._classes = [c for c in CLASSIFICATIONS if RANK[c] <= self.subject.rank]
        self._fields: dict[tuple[str, str], Decision] = {}
        self._conditions: dict[tuple[Table, frozenset[str] | None], ColumnElement[bool]] = {}
        self._mentionable: dict[tuple[Table, str], ColumnElement[bool]] = {}

    # ---- ReadScope ----

    @property
    def actor(self) -> str:
        return self.subject.username

    @property
    def purpose(self) -> str | None:
        return self.subject.purpose

    def _readable(self) -> bool:
        return self.subject.can("read") and self.subject.purpose is not None

    def _coverage(self, fields: frozenset[str] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(provider, entity types) this subject's agreements open to them. `fields`: () any agreement (a
        record read, redacted as needed); a set, only agreements sharing those fields (a field search);
        None, only agreements sharing whole records (free text reads every field)."""
        by_provider: dict[str, set[str]] = {}
        for a in self._usable:
            for etype, shared in a.entity_types.items():
                if fields is None and shared is not None:
                    continue
                if fields and shared is not None and not fields <= set(shared):
                    continue
                by_provider.setdefault(a.provider, set()).add(etype)
        return tuple((provider, tuple(sorted(types))) for provider, types in sorted(by_provider.items()))

    def records(self, record_table: Table, fields: Iterable[str] | None = ()) -> ColumnElement[bool]:
        """Visible records. `fields` names the fields a search matches on: () for reading a record (any
        agreement shows it, redacted), a set for a field search (the agreement must share those fields),
        None for free text over every field (only agreements sharing whole records)."""
        wanted = frozenset(fields) if fields is not None else None
        key = (record_table, wanted)
        condition = self._conditions.get(key)
        if condition is None:
            if not self._readable():
                return false()
            above = tuple(c for c in CLASSIFICATIONS if c not in self._classes)
            condition = _records_condition(
                record_table, self.subject.agency, above, self.subject.principals, self._coverage(wanted)
            )
            self._conditions[key] = condition
        return condition

    def mentionable(self, record_table: Table) -> ColumnElement[bool]:
        """Records a sharing agreement could open to this caller (or already does): within their vetting,
        shareable handling unless their own agency's, and not restricted to other people. Match names the
        agency holding such a record; anything else it hides stays invisible, even as a hint."""
        if not self._readable():
            return false()
        key = (record_table, "mentionable")
        condition = self._mentionable.get(key)
        if condition is None:
            above = tuple(c for c in CLASSIFICATIONS if c not in self._classes)
            condition = _records_condition(
                record_table, self.subject.agency, above, self.subject.principals, (), any_agreement=True
            )
            self._mentionable[key] = condition
        return condition

    def links(self, link_table: Table) -> ColumnElement[bool]:
        """Visible links: within the vetting, and the link's own agency is the caller's or shares with
        them under an agreement for this purpose (the store separately requires both ends visible)."""
        if not self._readable():
            return false()
        t = link_table
        providers = sorted({a.provider for a in self._usable})
        agency_ok = t.c.agency == self.subject.agency
        if providers:
            agency_ok = or_(agency_ok, and_(t.c.agency.in_(providers), t.c.handling.in_(SHAREABLE_HANDLING)))
        above = [c for c in CLASSIFICATIONS if c not in self._classes]
        return and_(*([t.c.classification.not_in(above)] if above else []), agency_ok)

    def redact(self, agency: str, entity_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """`data` with the fields this caller may not see removed (the record itself is already known to
        be visible: the query that fetched it filtered by `records`)."""
        decision = self.visibility(agency, entity_type)
        if decision.fields is None and not decision.hidden:
            return dict(data)
        return decision.redact(data)

    def visibility(self, agency: str, entity_type: str) -> Decision:
        key = (agency, entity_type)
        decision = self._fields.get(key)
        if decision is None:
            decision = decide(
                self.subject,
                "read",
                Resource(agency, entity_type, "OFFICIAL", "P"),
                self.subject.purpose,
                self._usable,
                self.now,
            )
            self._fields[key] = decision
        return decision

    # ---- single decisions ----

    def decide(self, action: str, resource: Resource) -> Decision:
        return decide(self.subject, action, resource, self.subject.purpose, self._usable, self.now)
