"""Master membership: merges, splits and unmerges move records between masters, and change nothing else.

`record.master_id` is the only thing these functions change on a record; facts and links stay where they
are, so a master's view shows the links of whatever records it holds. Every change is one `master_event`
with a `membership_change` row per record that moved and a `master_event_master` row per master touched
(a master's history is one indexed lookup), and every event can be undone exactly.

Master rows follow membership: a master holding records is "active" (merged_into NULL); one left empty is
"merged" into the master its records went to. An event remembers the state of each master it moved records
into that was not active before (and which masters it had to create), so its undo restores those rows too.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, insert, or_, select, update

from openrms.errors import BadRequest, Conflict, NotFound, with_article
from openrms.store import ids
from openrms.store.bulk import insert_tuples
from openrms.store.scope import ReadScope
from openrms.store.tables import (
    judgement,
    master,
    master_event,
    master_event_master,
    membership_change,
    record,
)

CHUNK = 500  # ids per IN list
T = TypeVar("T")
Move = tuple[str, str, str]  # record id, from master, to master
_INTERNAL = ("_before", "_removed")  # detail keys this module keeps for undo


@dataclass(frozen=True)
class MergeResult:
    event_id: str | None  # None when nothing had to move
    master_id: str  # the surviving master


def new_event_id() -> str:
    """Time-ordered (nanoseconds, then random bits), so events made in one microsecond still sort."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _lock_records(conn: Connection, record_ids: Sequence[str]) -> dict[str, Any]:
    """id -> (id, master_id, entity_type, created_at) of those that exist, locked to the transaction's end."""
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(record_ids)):  # sorted: two writers lock in the same order
        rows = conn.execute(
            select(record.c.id, record.c.master_id, record.c.entity_type, record.c.created_at)
            .where(record.c.id.in_(chunk))
            .with_for_update()
        )
        found.update({row.id: row for row in rows})
    return found


def _lock_masters(conn: Connection, master_ids: Iterable[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(set(master_ids))):  # sorted: two writers lock in the same order
        rows = conn.execute(select(master).where(master.c.id.in_(chunk)).with_for_update())
        found.update({row.id: row for row in rows})
    return found


def _sources_still_held(conn: Connection, event_id: str) -> set[str]:
    """The masters an event moved records out of that still hold some (retracted records are members too):
    one query over the event's changes, however many there are."""
    mc = membership_change
    query = (
        select(mc.c.old_master)
        .where(mc.c.event_id == event_id, exists().where(record.c.master_id == mc.c.old_master))
        .distinct()
    )
    return set(conn.execute(query).scalars())


def _set_masters(conn: Connection, master_ids: Iterable[str], status: str, merged_into: str | None) -> None:
    for chunk in _chunks(sorted(set(master_ids))):
        conn.execute(
            update(master).where(master.c.id.in_(chunk)).values(status=status, merged_into=merged_into)
        )


def _move(conn: Connection, moves: list[Move]) -> None:
    """Set each record's master: an IN list per target that takes many, one executemany for the rest."""
    by_target: dict[str, list[str]] = defaultdict(list)
    for record_id, _, new in moves:
        by_target[new].append(record_id)
    singles: list[dict[str, str]] = []
    for target, record_ids in by_target.items():
        if len(record_ids) < 20:
            singles += [{"b_id": rid, "b_master": target} for rid in record_ids]
            continue
        for chunk in _chunks(record_ids):
            conn.execute(update(record).where(record.c.id.in_(chunk)).values(master_id=target))
    if singles:
        conn.execute(
            update(record).where(record.c.id == bindparam("b_id")).values(master_id=bindparam("b_master")),
            singles,
        )


def _set_many(conn: Connection, groups: Mapping[tuple[str, str | None], list[str]]) -> None:
    """Set (status, merged_into) of masters, grouped by the values they get: as `_move` sets records."""
    singles: list[dict[str, Any]] = []
    for (status, merged_into), master_ids in groups.items():
        if len(master_ids) < 20:
            singles += [{"b_id": m, "b_status": status, "b_into": merged_into} for m in master_ids]
        else:
            _set_masters(conn, master_ids, status, merged_into)
    if singles:
        conn.execute(
            update(master)
            .where(master.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), merged_into=bindparam("b_into")),
            singles,
        )


def _restore_map(groups: list[list[Any]] | None) -> dict[str, tuple[str, str | None, bool]]:
    """The "before" detail of an event as master id -> (status, merged_into, existed)."""
    out: dict[str, tuple[str, str | None, bool]] = {}
    for status, merged_into, existed, master_ids in groups or []:
        for master_id in master_ids:
            out[master_id] = (status, merged_into, existed)
    return out


def _apply(
    conn: Connection,
    moves: list[Move],
    *,
    entity_type: str,
    action: str,
    by: str,
    reason: str | None,
    now: dt.datetime,
    event_id: str | None = None,
    undoes: str | None = None,
    extra: dict[str, Any] | None = None,
    restore: dict[str, tuple[str, str | None, bool]] | None = None,
    recreate: dict[str, str] | None = None,
) -> str | None:
    """Move records as `moves` says, as one event; keep master rows consistent. The records are locked."""
    if not moves:
        return None
    if len(action) > 12:
        raise BadRequest(f"action {action!r} is longer than 12 characters")
    event_id = event_id or new_event_id()
    targets = {new for _, _, new in moves}
    sources = {old for _, old, _ in moves}
    touched = sources | targets
    # The rows whose state matters: targets (reactivated, or created) and sources an undo may remove. Other
    # sources hold records, so they are active; a source left empty simply becomes "merged".
    state = _lock_masters(conn, targets | (sources & (restore or {}).keys()))
    for target in sorted(targets & state.keys()):
        if state[target].entity_type != entity_type:
            raise BadRequest(f"master {target} holds {state[target].entity_type} records, not {entity_type}")

    # What each target was, if not simply active: its undo puts it back once it is empty again.
    before: dict[tuple[str, str | None, bool], list[str]] = defaultdict(list)
    for target in sorted(targets):
        row = state.get(target)
        if row is None:
            before[("merged", None, False)].append(target)
        elif row.status != "active" or row.merged_into is not None:
            before[(row.status, row.merged_into, True)].append(target)
    created = sorted(targets - state.keys())
    if created:
        recreate = recreate or {}
        conn.execute(
            insert(master),
            [
                {
                    "id": m,
                    "entity_type": entity_type,
                    "created_at": dt.datetime.fromisoformat(recreate[m]) if m in recreate else now,
                    "status": "active",
                    "merged_into": None,
                }
                for m in created
            ],
        )

    _move(conn, moves)
    insert_tuples(conn, membership_change, [(event_id, rid, old, new) for rid, old, new in moves])
    insert_tuples(conn, master_event_master, [(m, event_id) for m in sorted(touched)])

    occupied = targets | _sources_still_held(conn, event_id)
    _set_masters(
        conn,
        [m for m in targets & state.keys() if state[m].status != "active" or state[m].merged_into],
        "active",
        None,
    )
    destinations: dict[str, Counter[str]] = defaultdict(Counter)
    for _, old, new in moves:
        destinations[old][new] += 1
    emptied: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    removed: list[list[str]] = []
    for m in sorted(touched - occupied):
        if restore and m in restore:
            status, merged_into, existed = restore[m]
            if not existed:
                row = state.get(m)
                removed.append([m, (row.created_at if row is not None else now).isoformat()])
                continue
            emptied[(status, merged_into)].append(m)
        else:
            emptied[("merged", destinations[m].most_common(1)[0][0])].append(m)
    _set_many(conn, emptied)
    for chunk in _chunks([m for m, _ in removed]):  # masters this event's undo had made: gone again
        conn.execute(delete(master).where(master.c.id.in_(chunk)))

    detail: dict[str, Any] = dict(extra or {})
    if before:
        detail["_before"] = [[s, into, existed, ms] for (s, into, existed), ms in before.items()]
    if removed:
        detail["_removed"] = removed
    conn.execute(
        insert(master_event).values(
            id=event_id,
            entity_type=entity_type,
            action=action,
            at=now,
            by=by,
            reason=reason,
            undoes=undoes,
            undone_by=None,
            detail=detail or None,
        )
    )
    return event_id


def move_records(
    conn: Connection,
    record_ids: Sequence[str],
    to_master: str,
    *,
    action: str,
    by: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """Move records into `to_master` as one event; returns its id, or None if every record was there already.

    Masters left with no records become "merged" into `to_master`; `to_master` becomes active (it is created
    if no such master exists yet). NotFound for unknown records; BadRequest for mixed entity types.
    """
    now = now or dt.datetime.now(dt.UTC)
    wanted = _unique(record_ids)
    found = _lock_records(conn, wanted)
    missing = [r for r in wanted if r not in found]
    if missing:
        raise NotFound(f"no record {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""))
    if not found:
        return None
    types = {row.entity_type for row in found.values()}
    if len(types) > 1:
        raise BadRequest(
            f"records of different entity types ({', '.join(sorted(types))}) cannot share a master"
        )
    moves = [(rid, row.master_id, to_master) for rid, row in found.items() if row.master_id != to_master]
    return _apply(
        conn, moves, entity_type=types.pop(), action=action, by=by, reason=reason, now=now, extra=detail
    )


def apply_moves(
    conn: Connection,
    moves: Mapping[str, str],
    *,
    entity_type: str,
    action: str,
    by: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """Move each record to its own target master (record id -> master id), all as one event; returns its id,
    or None if every record was there already. For resolution, which changes many clusters at once and must
    be undone as one: `undo` of the event restores every record's previous master.

    Masters follow as in `move_records`: targets become active (created if new), emptied masters become
    "merged" into the master most of their records went to. NotFound for unknown records; BadRequest for a
    record that is not of `entity_type`.
    """
    now = now or dt.datetime.now(dt.UTC)
    wanted = sorted(moves)  # one lock order for every writer
    found = _lock_records(conn, wanted)
    missing = [r for r in wanted if r not in found]
    if missing:
        raise NotFound(f"no record {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""))
    strays = [r for r in wanted if found[r].entity_type != entity_type]
    if strays:
        raise BadRequest(f"record {', '.join(strays[:10])} is not {with_article(entity_type)} record")
    planned = [(r, found[r].master_id, moves[r]) for r in wanted if found[r].master_id != moves[r]]
    return _apply(
        conn, planned, entity_type=entity_type, action=action, by=by, reason=reason, now=now, extra=detail
    )


def _person_different(conn: Connection, master_ids: Sequence[str]) -> Any:
    """A current person "different" judgement between records of two of `master_ids`, or None."""
    ra, rb = record.alias("ra"), record.alias("rb")
    return conn.execute(
        select(
            judgement.c.id,
            judgement.c.record_a,
            judgement.c.record_b,
            judgement.c.by,
            judgement.c.at,
            ra.c.master_id.label("master_a"),
            rb.c.master_id.label("master_b"),
        )
        .join(ra, ra.c.id == judgement.c.record_a)
        .join(rb, rb.c.id == judgement.c.record_b)
        .where(
            judgement.c.current.is_(True),
            judgement.c.by_kind == "person",
            judgement.c.decision == "different",
            ra.c.master_id.in_(master_ids),
            rb.c.master_id.in_(master_ids),
            ra.c.master_id != rb.c.master_id,
        )
        .limit(1)
    ).first()


def blocked_by_person(conn: Connection, master_a: str, master_b: str) -> bool:
    """True if a person judged some record of one master "different" from some record of the other."""
    return master_a != master_b and _person_different(conn, [master_a, master_b]) is not None


def merge_masters(
    conn: Connection,
    master_ids: Sequence[str],
    *,
    by: str,
    reason: str | None = None,
    action: str = "merge",
    now: dt.datetime | None = None,
) -> MergeResult:
    """Merge masters into the oldest of them (created_at, then id): every record of the others moves there.

    BadRequest for fewer than two masters or mixed types; NotFound for unknown or no longer active masters;
    Conflict if a person judged a record of one "different" from a record of another.
    """
    wanted = _unique(master_ids)
    if len(wanted) < 2:
        raise BadRequest("a merge needs at least two different masters")
    rows = _lock_masters(conn, wanted)
    missing = [m for m in wanted if m not in rows]
    if missing:
        raise NotFound(f"no master {', '.join(missing)}")
    inactive = [m for m in wanted if rows[m].status != "active"]
    if inactive:
        where = "; ".join(f"{m} was merged into {rows[m].merged_into}" for m in inactive)
        raise NotFound(f"master {', '.join(inactive)} is no longer active: {where}")
    types = {rows[m].entity_type for m in wanted}
    if len(types) > 1:
        raise BadRequest(f"masters of different entity types ({', '.join(sorted(types))}) cannot be merged")
    block = _person_different(conn, wanted)
    if block is not None:
        raise Conflict(
            f"{block.by} judged records {block.record_a} (master {block.master_a}) and {block.record_b} "
            f"(master {block.master_b}) to be different (judgement {block.id}); "
            "record a new judgement for that pair first if they are the same",
            judgement=block.id,
            record_a=block.record_a,
            record_b=block.record_b,
        )
    survivor = min(wanted, key=lambda m: (rows[m].created_at, m))
    others = [m for m in wanted if m != survivor]
    moves: list[Move] = []
    for chunk in _chunks(others):
        found = conn.execute(
            select(record.c.id, record.c.master_id).where(record.c.master_id.in_(chunk)).with_for_update()
        )
        moves += [(row.id, row.master_id, survivor) for row in found]
    event_id = _apply(
        conn,
        moves,
        entity_type=types.pop(),
        action=action,
        by=by,
        reason=reason,
        now=now or dt.datetime.now(dt.UTC),
        extra={"masters": wanted, "survivor": survivor},
    )
    return MergeResult(event_id, survivor)


def split_records(
    conn: Connection,
    record_ids: Sequence[str],
    *,
    by: str,
    reason: str | None = None,
    from_master: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Split records off their masters, each into a master of its own; returns the event id.

    Each record goes back to the master it started in when that master holds no other record; a record
    that is the one its current master started with gets a new master, so the rest keep their master id.
    Conflict if a record already is alone in its master; with `from_master`, BadRequest for a record that
    is not in that master (NotFound if there is no such master).
    """
    wanted = _unique(record_ids)
    if not wanted:
        raise BadRequest("name at least one record to split off")
    found = _lock_records(conn, wanted)
    missing = [r for r in wanted if r not in found]
    if missing:
        raise NotFound(f"no record {', '.join(missing)}")
    if from_master is not None:
        if conn.execute(select(master.c.id).where(master.c.id == from_master)).first() is None:
            raise NotFound(f"no master {from_master}")
        strays = [r for r in wanted if found[r].master_id != from_master]
        if strays:
            raise BadRequest(f"record {', '.join(strays)} is not in master {from_master}")
    types = {row.entity_type for row in found.values()}
    if len(types) > 1:
        raise BadRequest("split records of one entity type at a time")
    current = {row.master_id for row in found.values()}
    sizes = dict(
        conn.execute(
            select(record.c.master_id, func.count())
            .where(record.c.master_id.in_(sorted(current)))
            .group_by(record.c.master_id)
        ).all()
    )
    alone = [r for r in wanted if sizes.get(found[r].master_id, 0) <= 1]
    if alone:
        raise Conflict(f"record {', '.join(alone)} is already alone in its master; there is nothing to split")
    leaving = Counter(found[r].master_id for r in wanted)
    origins = {r: ids.master_id_for(r) for r in wanted}
    candidates = sorted({o for r, o in origins.items() if o != found[r].master_id})
    busy: set[str] = set()
    if candidates:
        busy = set(
            conn.execute(
                select(record.c.master_id)
                .where(record.c.master_id.in_(candidates), record.c.id.not_in(wanted))
                .distinct()
            ).scalars()
        )
    event_id = new_event_id()
    moves: list[Move] = []
    for r in wanted:
        here, origin = found[r].master_id, origins[r]
        if origin == here:
            if sizes[here] == leaving[here]:
                continue  # every other record leaves: this one stays in the master it started in
            target = ids.split_master_id(r, event_id)
        else:
            target = origin if origin not in busy else ids.split_master_id(r, event_id)
        moves.append((r, here, target))
    result = _apply(
        conn,
        moves,
        entity_type=types.pop(),
        action="split",
        by=by,
        reason=reason,
        now=now or dt.datetime.now(dt.UTC),
        event_id=event_id,
    )
    assert result is not None  # some record of a master with others always moves
    return result


def undo(
    conn: Connection,
    event_id: str,
    *,
    by: str,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Unmerge: move every record of `event_id` back, as a new "unmerge" event; returns its id.

    Masters and their status come back exactly as they were before the event. Conflict if it was undone
    already, or if any of its records has moved since (undo the later event first).
    """
    event = conn.execute(select(master_event).where(master_event.c.id == event_id).with_for_update()).first()
    if event is None:
        raise NotFound(f"no master event {event_id}")
    if event.undone_by:
        raise Conflict(f"event {event_id} was already undone by event {event.undone_by}")
    changes = conn.execute(
        select(membership_change.c.record_id, membership_change.c.old_master, membership_change.c.new_master)
        .where(membership_change.c.event_id == event_id)
        .order_by(membership_change.c.record_id)
    ).all()
    where_now = _lock_records(conn, [c.record_id for c in changes])
    moved = [
        c.record_id
        for c in changes
        if c.record_id in where_now and where_now[c.record_id].master_id != c.new_master
    ]
    if moved:
        later = ", ".join(moved[:10]) + (f" and {len(moved) - 10} more" if len(moved) > 10 else "")
        raise Conflict(
            f"cannot undo event {event_id}: record {later} moved to another master since; "
            "undo the later change first (see the master's history)",
            records=moved[:100],
        )
    detail = event.detail or {}
    new_id = _apply(
        conn,
        [(c.record_id, c.new_master, c.old_master) for c in changes if c.record_id in where_now],
        entity_type=event.entity_type,
        action="unmerge",
        by=by,
        reason=reason,
        now=now or dt.datetime.now(dt.UTC),
        undoes=event_id,
        restore=_restore_map(detail.get("_before")),
        recreate=dict(detail.get("_removed") or []),
    )
    if new_id is None:
        raise Conflict(f"event {event_id} moved no record that still exists; there is nothing to undo")
    conn.execute(update(master_event).where(master_event.c.id == event_id).values(undone_by=new_id))
    return new_id


def history(conn: Connection, master_id: str, *, scope: ReadScope | None = None) -> list[dict[str, Any]]:
    """Every membership change of a master, newest first, with the records it moved into or out of it.

    With a scope, only the records the caller may see are listed. NotFound if there is no such master.
    """
    events = conn.execute(
        select(master_event)
        .join(master_event_master, master_event_master.c.event_id == master_event.c.id)
        .where(master_event_master.c.master_id == master_id)
        .order_by(master_event.c.at.desc(), master_event.c.id.desc())
    ).all()
    if not events and conn.execute(select(master.c.id).where(master.c.id == master_id)).first() is None:
        raise NotFound(f"no master {master_id}")
    moved: dict[str, list[dict[str, str]]] = defaultdict(list)
    for chunk in _chunks([e.id for e in events]):
        query = (
            select(membership_change)
            .where(
                membership_change.c.event_id.in_(chunk),
                or_(membership_change.c.old_master == master_id, membership_change.c.new_master == master_id),
            )
            .order_by(membership_change.c.record_id)
        )
        if scope is not None:
            query = query.join(
                record, and_(record.c.id == membership_change.c.record_id, scope.records(record))
            )
        for row in conn.execute(query):
            moved[row.event_id].append({"id": row.record_id, "from": row.old_master, "to": row.new_master})
    return [
        {
            "id": e.id,
            "action": e.action,
            "at": e.at.isoformat(),
            "by": e.by,
            "reason": e.reason,
            "undoes": e.undoes,
            "undone_by": e.undone_by,
            "detail": {k: v for k, v in (e.detail or {}).items() if k not in _INTERNAL},
            "records": moved.get(e.id, []),
        }
        for e in events
    ]


__all__ = [
    "MergeResult",
    "apply_moves",
    "blocked_by_person",
    "history",
    "merge_masters",
    "move_records",
    "split_records",
    "undo",
]
