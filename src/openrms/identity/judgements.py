"""Pairwise judgements and the review queue: every same/different decision is kept, with who made it and when.

A pair's newest judgement is its *current* one, except that a model never overrides a person: a model
judgement made while a person's is current is stored, but not current. A current person "different" stops
any merge of the two records' masters (see membership). The model's "review" judgements are the review
queue; a person's decision on one records a person judgement and applies it: "same" merges the masters,
"different" splits the later record off a shared master, "unsure" only takes the pair off the queue.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from openrms.errors import BadRequest, Conflict, NotFound
from openrms.identity import membership
from openrms.schema import registry
from openrms.store.bulk import Encoder, insert_tuples
from openrms.store.scope import ReadScope, Unrestricted
from openrms.store.tables import judgement, record, record_version
from openrms.store.views import _VERSION_COLUMNS, _view

DECISIONS = ("same", "different", "unsure", "review")
PERSON_DECISIONS = ("same", "different", "unsure")
KINDS = ("model", "person")
MAX_PAGE = 500
CHUNK = membership.CHUNK


@dataclass(frozen=True)
class NewJudgement:
    record_a: str
    record_b: str
    decision: str
    by_kind: str
    by: str
    probability: float | None = None
    model_version: int | None = None
    reason: str | None = None
    explanation: dict[str, Any] | None = None


_NAMES = {f.name for f in fields(NewJudgement)}


def _checked(item: NewJudgement | Mapping[str, Any], index: int | None) -> NewJudgement:
    if isinstance(item, Mapping):
        unknown = set(item) - _NAMES
        if unknown:
            raise BadRequest(f"judgement has unknown members {sorted(unknown)}")
        item = NewJudgement(**item)
    where = "" if index is None else f" (judgement {index})"
    if item.decision not in DECISIONS:
        raise BadRequest(f"decision {item.decision!r} must be one of {', '.join(DECISIONS)}{where}")
    if item.by_kind not in KINDS:
        raise BadRequest(f"by_kind {item.by_kind!r} must be model or person{where}")
    if item.by_kind == "person" and item.decision == "review":
        raise BadRequest(f"a person decides same, different or unsure, not review{where}")
    if not item.by or len(item.by) > 120:
        raise BadRequest(f"by (who judged) is required, at most 120 characters{where}")
    if item.record_a == item.record_b:
        raise BadRequest(f"a record cannot be judged against itself ({item.record_a}){where}")
    if item.probability is not None and not (
        isinstance(item.probability, (int, float)) and math.isfinite(item.probability)
    ):
        raise BadRequest(f"probability {item.probability!r} must be a number{where}")
    if item.probability is not None and not 0.0 <= item.probability <= 1.0:
        raise BadRequest(f"probability {item.probability} must be between 0 and 1{where}")
    if item.record_a > item.record_b:
        item = replace(item, record_a=item.record_b, record_b=item.record_a)
    return item


def _types(conn: Connection, record_ids: set[str]) -> dict[str, str]:
    wanted = sorted(record_ids)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(record.c.id, record.c.entity_type).where(record.c.id.in_(wanted[start : start + CHUNK]))
        )
        found.update({row.id: row.entity_type for row in rows})
    return found


def _current_of(conn: Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """(a, b) -> its current judgement rows (normally one), for the given ordered pairs."""
    firsts = sorted({a for a, _ in pairs})
    out: dict[tuple[str, str], list[Any]] = {}
    for start in range(0, len(firsts), CHUNK):
        rows = conn.execute(
            select(judgement.c.id, judgement.c.record_a, judgement.c.record_b, judgement.c.by_kind).where(
                judgement.c.record_a.in_(firsts[start : start + CHUNK]), judgement.c.current.is_(True)
            )
        )
        for row in rows:
            pair = (row.record_a, row.record_b)
            if pair in pairs:
                out.setdefault(pair, []).append(row)
    return out


def record_judgements(
    conn: Connection, rows: Sequence[NewJudgement | Mapping[str, Any]], *, now: dt.datetime | None = None
) -> list[str]:
    """Store many judgements at once (batch resolution); returns their ids in order.

    Each becomes its pair's current judgement, unless it is the model's and a person's is current. A pair
    judged twice in one batch keeps the later as current. BadRequest for a bad decision, kind or pair;
    NotFound for an unknown record; BadRequest for two records of different entity types.
    """
    now = now or dt.datetime.now(dt.UTC)
    items = [_checked(row, None if len(rows) == 1 else i) for i, row in enumerate(rows)]
    if not items:
        return []
    types = _types(conn, {r for item in items for r in (item.record_a, item.record_b)})
    for item in items:
        for rid in (item.record_a, item.record_b):
            if rid not in types:
                raise NotFound(f"no record {rid}")
        if types[item.record_a] != types[item.record_b]:
            raise BadRequest(
                f"records {item.record_a} ({types[item.record_a]}) and {item.record_b} "
                f"({types[item.record_b]}) are of different entity types; only records of one type match"
            )
    existing = _current_of(conn, {(i.record_a, i.record_b) for i in items})
    # pair -> (kind of its current judgement, index in `new` if that one is from this batch)
    state: dict[tuple[str, str], tuple[str, int | None]] = {
        pair: ("person" if any(r.by_kind == "person" for r in found) else "model", None)
        for pair, found in existing.items()
    }
    retire: list[str] = []
    new: list[list[Any]] = []
    ids: list[str] = []
    for item in items:
        pair = (item.record_a, item.record_b)
        jid = secrets.token_hex(12)
        ids.append(jid)
        kind, index = state.get(pair, ("", None))
        current = not (item.by_kind == "model" and kind == "person")
        if current:
            if index is not None:
                new[index][-1] = False
            elif pair in existing:
                retire += [r.id for r in existing.pop(pair)]
            state[pair] = (item.by_kind, len(new))
        # in the judgement table's column order; `current` last, as a later one in the batch may clear it
        new.append(
            [
                jid,
                *pair,
                types[item.record_a],
                item.decision,
                item.by_kind,
                item.by,
                now,
                item.probability,
                item.model_version,
                item.reason,
                item.explanation,
                current,
            ]
        )
    for start in range(0, len(retire), CHUNK):
        conn.execute(
            update(judgement).where(judgement.c.id.in_(retire[start : start + CHUNK])).values(current=False)
        )
    enc = Encoder(conn.dialect.name)
    insert_tuples(
        conn,
        judgement,
        [(*row[:7], enc.time(row[7]), *row[8:11], enc.json(row[11]), enc.bool(row[12])) for row in new],
    )
    return ids


def record_judgement(
    conn: Connection,
    record_a: str,
    record_b: str,
    decision: str,
    *,
    by_kind: str,
    by: str,
    probability: float | None = None,
    model_version: int | None = None,
    reason: str | None = None,
    explanation: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Store one judgement (see `record_judgements`); returns its id. It changes no membership."""
    item = NewJudgement(
        record_a, record_b, decision, by_kind, by, probability, model_version, reason, explanation
    )
    return record_judgements(conn, [item], now=now)[0]


def _judgement_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "record_a": row.record_a,
        "record_b": row.record_b,
        "entity_type": row.entity_type,
        "decision": row.decision,
        "by_kind": row.by_kind,
        "by": row.by,
        "at": row.at.isoformat(),
        "probability": row.probability,
        "model_version": row.model_version,
        "reason": row.reason,
        "explanation": row.explanation,
        "current": bool(row.current),
    }


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _current_row(conn: Connection, a: str, b: str) -> Any:
    a, b = _ordered(a, b)
    return conn.execute(
        select(judgement)
        .where(judgement.c.record_a == a, judgement.c.record_b == b, judgement.c.current.is_(True))
        .order_by(judgement.c.at.desc(), judgement.c.id.desc())
        .limit(1)
    ).first()


def current_judgement(conn: Connection, a: str, b: str) -> dict[str, Any] | None:
    """The pair's current judgement (in either order), or None if the pair was never judged."""
    row = _current_row(conn, a, b)
    return None if row is None else _judgement_view(row)


# ---- the review queue ----


def _records(conn: Connection, record_ids: set[str], scope: ReadScope) -> dict[str, dict[str, Any]]:
    """The current view of each record the caller may see, in one query per chunk."""
    wanted = sorted(record_ids)
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(record, *_VERSION_COLUMNS)
            .join(
                record_version,
                and_(
                    record_version.c.record_id == record.c.id,
                    record_version.c.version == record.c.current_version,
                ),
            )
            .where(record.c.id.in_(wanted[start : start + CHUNK]), scope.records(record))
        )
        out.update({row.id: _view(row, scope) for row in rows})
    return out


def _field_order(entity_type: str, names: set[str]) -> list[str]:
    etype = registry().entity_types.get(entity_type)
    declared = [n for n in (etype.fields if etype else []) if n in names]
    return declared + sorted(names - set(declared))


def _compare(row: Any, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    names = _field_order(row.entity_type, set(a["data"]) | set(b["data"]))
    comparison = [
        {
            "field": n,
            "a": a["data"].get(n),
            "b": b["data"].get(n),
            "same": a["data"].get(n) == b["data"].get(n),
        }
        for n in names
    ]
    return {
        "judgement_id": row.id,
        "entity_type": row.entity_type,
        "decision": row.decision,
        "by_kind": row.by_kind,
        "by": row.by,
        "at": row.at.isoformat(),
        "current": bool(row.current),
        "probability": row.probability,
        "model_version": row.model_version,
        "explanation": row.explanation,
        "reason": row.reason,
        "records": {"a": a, "b": b},
        "masters": {"a": a["master_id"], "b": b["master_id"]},
        "same_master": a["master_id"] == b["master_id"],
        "differences": [c["field"] for c in comparison if not c["same"]],
        "comparison": comparison,
    }


def _rank() -> Any:
    return func.coalesce(judgement.c.probability, -1.0)


def review_queue(
    conn: Connection,
    *,
    entity_type: str | None = None,
    limit: int = 50,
    after: str | None = None,
    scope: ReadScope | None = None,
) -> list[dict[str, Any]]:
    """Pairs the model left for a person, highest probability first, each with a side-by-side comparison.

    Keyset pages: pass the last item's judgement_id as `after`. Pairs with a record the caller may not see,
    or a retracted one, are left out.
    """
    scope = scope or Unrestricted()
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    if entity_type is not None and entity_type not in registry().entity_types:
        raise BadRequest(f"unknown entity type {entity_type!r}")
    ra, rb = record.alias("ra"), record.alias("rb")
    query = (
        select(judgement)
        .join(ra, and_(ra.c.id == judgement.c.record_a, ra.c.deleted.is_(False), scope.records(ra)))
        .join(rb, and_(rb.c.id == judgement.c.record_b, rb.c.deleted.is_(False), scope.records(rb)))
        .where(
            judgement.c.current.is_(True), judgement.c.decision == "review", judgement.c.by_kind == "model"
        )
    )
    if entity_type is not None:
        query = query.where(judgement.c.entity_type == entity_type)
    if after is not None:
        mark = conn.execute(select(_rank().label("rank")).where(judgement.c.id == after)).first()
        if mark is None:
            raise BadRequest(f"after {after!r} is not a judgement id from the previous page")
        query = query.where(or_(_rank() < mark.rank, and_(_rank() == mark.rank, judgement.c.id > after)))
    rows = conn.execute(query.order_by(_rank().desc(), judgement.c.id).limit(limit)).all()
    views = _records(conn, {r for row in rows for r in (row.record_a, row.record_b)}, scope)
    return [_compare(row, views[row.record_a], views[row.record_b]) for row in rows]


def review_item(conn: Connection, judgement_id: str, *, scope: ReadScope | None = None) -> dict[str, Any]:
    """One judgement with its side-by-side comparison and the pair's current judgement."""
    scope = scope or Unrestricted()
    row = conn.execute(select(judgement).where(judgement.c.id == judgement_id)).first()
    views = {} if row is None else _records(conn, {row.record_a, row.record_b}, scope)
    if row is None or len(views) < 2:
        raise NotFound(f"no judgement {judgement_id}")
    item = _compare(row, views[row.record_a], views[row.record_b])
    item["current_judgement"] = current_judgement(conn, row.record_a, row.record_b)
    return item


def _masters_of(conn: Connection, a: str, b: str) -> dict[str, Any]:
    query = select(record.c.id, record.c.master_id, record.c.created_at).where(record.c.id.in_([a, b]))
    return {row.id: row for row in conn.execute(query)}


def judge(
    conn: Connection, record_a: str, record_b: str, decision: str, *, by: str, reason: str | None = None
) -> dict[str, Any]:
    """A person's judgement of a pair, applied: "same" merges their masters, "different" splits the later
    record off a master they share, "unsure" changes no membership. Returns the judgement id and effect."""
    if decision not in PERSON_DECISIONS:
        raise BadRequest(f"decision {decision!r} must be one of {', '.join(PERSON_DECISIONS)}")
    judgement_id = record_judgement(
        conn, record_a, record_b, decision, by_kind="person", by=by, reason=reason
    )
    before = _masters_of(conn, record_a, record_b)
    ma, mb = before[record_a].master_id, before[record_b].master_id
    effect: dict[str, Any] = {"action": None, "event_id": None, "masters_before": {"a": ma, "b": mb}}
    if decision == "same" and ma != mb:
        merged = membership.merge_masters(conn, [ma, mb], by=by, reason=reason)
        effect.update(action="merge", event_id=merged.event_id)
    elif decision == "different" and ma == mb:
        later = max(before.values(), key=lambda r: (r.created_at, r.id))
        event_id = membership.split_records(conn, [later.id], by=by, reason=reason)
        effect.update(action="split", event_id=event_id, split_off=later.id)
    after = _masters_of(conn, record_a, record_b)
    effect["masters_after"] = {"a": after[record_a].master_id, "b": after[record_b].master_id}
    return {"judgement_id": judgement_id, "decision": decision, "effect": effect}


def decide(
    conn: Connection, judgement_id: str, decision: str, *, by: str, reason: str | None = None
) -> dict[str, Any]:
    """A person's decision on a queued judgement (see `judge`). Conflict if a person already decided the
    pair: to change a person's decision, record a new judgement for the pair."""
    row = conn.execute(select(judgement).where(judgement.c.id == judgement_id)).first()
    if row is None:
        raise NotFound(f"no judgement {judgement_id}")
    if decision not in PERSON_DECISIONS:
        raise BadRequest(f"decision {decision!r} must be one of {', '.join(PERSON_DECISIONS)}")
    current = _current_row(conn, row.record_a, row.record_b)
    if current is not None and current.by_kind == "person":
        raise Conflict(
            f"{current.by} already decided this pair ({current.decision}, judgement {current.id}, "
            f"at {current.at.isoformat()}); to change it, record a new judgement for the pair",
            judgement=current.id,
        )
    return judge(conn, row.record_a, row.record_b, decision, by=by, reason=reason)


__all__ = [
    "DECISIONS",
    "NewJudgement",
    "current_judgement",
    "decide",
    "judge",
    "record_judgement",
    "record_judgements",
    "review_item",
    "review_queue",
]
