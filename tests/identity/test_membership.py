"""Master membership: merge, split, move and undo change only which master a record is in, exactly and
reversibly, on each back end."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from openrms.errors import BadRequest, Conflict, NotFound
from openrms.identity import judgements, membership, survivorship
from openrms.store import ids
from openrms.store.records import NewRecord, create_records
from openrms.store.scope import Unrestricted
from openrms.store.tables import master, master_event, master_event_master, membership_change, record
from tests.identity.membership_support import (  # noqa: F401  (no_resolution is an autouse fixture)
    T0,
    add_crime,
    add_people,
    assert_consistent,
    link,
    master_of,
    no_resolution,
    person_data,
    provenance,
    snapshot,
)

SCOPE = Unrestricted("test")


def test_merge_moves_records_into_the_oldest_master_and_links_follow(db):
    a, b, c = add_people(db, 0, 1, 2)
    crime_a, crime_b = add_crime(db, "13/1/1"), add_crime(db, "13/1/2")
    link_a = link(db, "SUSPECT", a.id, crime_a)
    link_b = link(db, "VICTIM", b.id, crime_b)
    with db.write() as conn:
        result = membership.merge_masters(
            conn, [c.master_id, b.master_id, a.master_id], by="DS 1", reason="dupes"
        )
    assert result.master_id == a.master_id  # the oldest survives, whatever the order given
    assert {master_of(db, r.id) for r in (a, b, c)} == {a.master_id}
    with db.read() as conn:
        view = survivorship.master_view(conn, a.master_id, SCOPE)
        rows = {m.id: m for m in conn.execute(select(master))}
        with pytest.raises(NotFound):
            survivorship.master_view(conn, b.master_id, SCOPE)
    assert sorted(r["id"] for r in view["records"]) == sorted([a.id, b.id, c.id])
    assert {lk["id"] for lk in view["links"]} == {link_a, link_b}
    assert (rows[a.master_id].status, rows[a.master_id].merged_into) == ("active", None)
    for gone in (b, c):
        assert (rows[gone.master_id].status, rows[gone.master_id].merged_into) == ("merged", a.master_id)
    assert_consistent(db)


def test_merge_writes_one_event_with_every_change(db):
    a, b, c = add_people(db, 0, 1, 2)
    with db.write() as conn:
        result = membership.merge_masters(
            conn, [a.master_id, b.master_id, c.master_id], by="DS 1", reason="r"
        )
    with db.read() as conn:
        event = conn.execute(select(master_event)).one()
        changes = conn.execute(select(membership_change)).all()
        touched = conn.execute(select(master_event_master.c.master_id)).scalars().all()
    assert (event.id, event.action, event.by, event.reason, event.entity_type) == (
        result.event_id,
        "merge",
        "DS 1",
        "r",
        "person",
    )
    assert sorted((c.record_id, c.old_master, c.new_master) for c in changes) == sorted(
        [(b.id, b.master_id, a.master_id), (c.id, c.master_id, a.master_id)]
    )
    assert sorted(touched) == sorted([a.master_id, b.master_id, c.master_id])


def test_undo_of_a_merge_restores_membership_and_masters_exactly(db):
    a, b, c, d = add_people(db, 0, 1, 2, 3)
    with db.write() as conn:
        membership.merge_masters(conn, [c.master_id, d.master_id], by="DS 1")
    before = snapshot(db)
    with db.write() as conn:
        merged = membership.merge_masters(conn, [a.master_id, b.master_id, c.master_id], by="DS 1")
    assert snapshot(db) != before
    with db.write() as conn:
        unmerge = membership.undo(conn, merged.event_id, by="DS 2", reason="wrong")
    assert snapshot(db) == before
    with db.read() as conn:
        events = {e.id: e for e in conn.execute(select(master_event))}
    assert events[merged.event_id].undone_by == unmerge
    assert (events[unmerge].action, events[unmerge].undoes, events[unmerge].by) == (
        "unmerge",
        merged.event_id,
        "DS 2",
    )
    assert_consistent(db)


def test_undo_refuses_when_a_record_moved_since_and_names_it(db):
    a, b, c = add_people(db, 0, 1, 2)
    with db.write() as conn:
        merged = membership.merge_masters(conn, [a.master_id, b.master_id, c.master_id], by="DS 1")
        membership.split_records(conn, [b.id], by="DS 1")
    with db.write() as conn, pytest.raises(Conflict) as refused:
        membership.undo(conn, merged.event_id, by="DS 1")
    assert b.id in refused.value.detail and c.id not in refused.value.detail
    assert "moved" in refused.value.detail


def test_undo_twice_is_a_conflict_and_unknown_events_are_not_found(db):
    a, b = add_people(db, 0, 1)
    with db.write() as conn:
        merged = membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
        first = membership.undo(conn, merged.event_id, by="DS 1")
    with db.write() as conn, pytest.raises(Conflict, match=f"already undone by event {first}"):
        membership.undo(conn, merged.event_id, by="DS 1")
    with db.write() as conn, pytest.raises(NotFound):
        membership.undo(conn, "0" * 24, by="DS 1")


def test_undo_of_an_unmerge_merges_again(db):
    a, b = add_people(db, 0, 1)
    before = snapshot(db)
    with db.write() as conn:
        merged = membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
    after_merge = snapshot(db)
    with db.write() as conn:
        unmerge = membership.undo(conn, merged.event_id, by="DS 1")
    assert snapshot(db) == before
    with db.write() as conn:
        membership.undo(conn, unmerge, by="DS 1")
    assert snapshot(db) == after_merge


def test_split_sends_a_record_back_to_its_own_master(db):
    a, b, c = add_people(db, 0, 1, 2)
    with db.write() as conn:
        membership.merge_masters(conn, [a.master_id, b.master_id, c.master_id], by="DS 1")
        event_id = membership.split_records(conn, [b.id], by="DS 1", reason="not him")
    assert master_of(db, b.id) == b.master_id == ids.master_id_for(b.id)
    assert master_of(db, c.id) == master_of(db, a.id) == a.master_id
    with db.read() as conn:
        row = conn.execute(select(master).where(master.c.id == b.master_id)).one()
        event = conn.execute(select(master_event).where(master_event.c.id == event_id)).one()
    assert (row.status, row.merged_into) == ("active", None)
    assert (event.action, event.reason) == ("split", "not him")
    assert_consistent(db)


def test_splitting_the_record_a_master_started_with_gives_it_a_new_master(db):
    a, b, c = add_people(db, 0, 1, 2)
    with db.write() as conn:
        membership.merge_masters(conn, [a.master_id, b.master_id, c.master_id], by="DS 1")
    before = snapshot(db)
    with db.write() as conn:
        event_id = membership.split_records(conn, [a.id], by="DS 1")
    assert master_of(db, b.id) == master_of(db, c.id) == a.master_id  # the rest keep their master id
    assert master_of(db, a.id) == ids.split_master_id(a.id, event_id)
    assert_consistent(db)
    with db.write() as conn:
        membership.undo(conn, event_id, by="DS 1")
    assert snapshot(db) == before  # the new master is gone again


def test_split_of_a_whole_master_keeps_the_first_record_where_it_started(db):
    a, b = add_people(db, 0, 1)
    with db.write() as conn:
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
        membership.split_records(conn, [a.id, b.id], by="DS 1")
    assert (master_of(db, a.id), master_of(db, b.id)) == (a.master_id, b.master_id)
    assert_consistent(db)


def test_split_refuses_a_record_alone_in_its_master_and_unknown_records(db):
    (a,) = add_people(db, 0)
    with db.write() as conn, pytest.raises(Conflict, match="already alone"):
        membership.split_records(conn, [a.id], by="DS 1")
    with db.write() as conn, pytest.raises(NotFound):
        membership.split_records(conn, ["f" * 24], by="DS 1")
    with db.write() as conn, pytest.raises(BadRequest):
        membership.split_records(conn, [], by="DS 1")


def test_split_from_a_named_master_checks_the_records_are_in_it(db):
    a, b, c = add_people(db, 0, 1, 2)
    with db.write() as conn:
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
    with db.write() as conn, pytest.raises(BadRequest, match="not in master"):
        membership.split_records(conn, [c.id], by="DS 1", from_master=a.master_id)
    with db.write() as conn, pytest.raises(NotFound):
        membership.split_records(conn, [b.id], by="DS 1", from_master="e" * 24)


def test_merge_errors(db):
    a, b = add_people(db, 0, 1)
    crime = add_crime(db, "13/9/9")
    with db.write() as conn:
        with pytest.raises(BadRequest, match="at least two"):
            membership.merge_masters(conn, [a.master_id], by="DS 1")
        with pytest.raises(BadRequest, match="at least two"):
            membership.merge_masters(conn, [a.master_id, a.master_id], by="DS 1")
        with pytest.raises(NotFound, match="0" * 24):
            membership.merge_masters(conn, [a.master_id, "0" * 24], by="DS 1")
        with pytest.raises(BadRequest, match="different entity types"):
            membership.merge_masters(conn, [a.master_id, ids.master_id_for(crime)], by="DS 1")
    with db.write() as conn:
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
    with db.write() as conn, pytest.raises(NotFound, match=f"merged into {a.master_id}"):
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")


def test_a_person_different_judgement_blocks_a_merge(db):
    a, b, c = add_people(db, 0, 1, 2)
    with db.write() as conn:
        membership.merge_masters(conn, [a.master_id, c.master_id], by="DS 1")
        judgements.record_judgement(conn, c.id, b.id, "different", by_kind="person", by="DS 9")
    with db.read() as conn:
        assert membership.blocked_by_person(conn, a.master_id, b.master_id)
        assert not membership.blocked_by_person(conn, a.master_id, a.master_id)
    before = snapshot(db)
    with db.write() as conn, pytest.raises(Conflict) as refused:
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
    assert b.id in refused.value.detail and c.id in refused.value.detail
    assert "new judgement" in refused.value.detail
    assert snapshot(db) == before
    # A person changing their mind lifts the block.
    with db.write() as conn:
        judgements.record_judgement(conn, b.id, c.id, "same", by_kind="person", by="DS 9")
        assert not membership.blocked_by_person(conn, a.master_id, b.master_id)
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
    assert master_of(db, b.id) == a.master_id


def test_model_different_judgements_do_not_block(db):
    a, b = add_people(db, 0, 1)
    with db.write() as conn:
        judgements.record_judgement(conn, a.id, b.id, "different", by_kind="model", by="model v1")
        assert not membership.blocked_by_person(conn, a.master_id, b.master_id)
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")


def test_move_records_in_bulk_is_one_event_and_one_undo(db):
    people = add_people(db, *range(8))
    with db.write() as conn:
        many = create_records(
            conn, [NewRecord("person", person_data(i), provenance()) for i in range(1200)], now=T0
        )
    before = snapshot(db)
    target = people[0].master_id
    with db.write() as conn:
        event_id = membership.move_records(
            conn,
            [r.id for r in many] + [people[0].id],
            target,
            action="resolve",
            by="model v1",
            detail={"run": "nightly"},
        )
    with db.read() as conn:
        moved = conn.execute(select(func.count()).select_from(membership_change)).scalar()
        touched = conn.execute(select(func.count()).select_from(master_event_master)).scalar()
        held = conn.execute(select(func.count()).where(record.c.master_id == target)).scalar()
        history = membership.history(conn, target)
    assert (moved, touched, held) == (1200, 1201, 1201)
    assert history[0]["detail"] == {"run": "nightly"} and history[0]["action"] == "resolve"
    assert_consistent(db)
    with db.write() as conn:
        assert membership.move_records(conn, [many[0].id], target, action="resolve", by="x") is None
        membership.undo(conn, event_id, by="DS 1")
    assert snapshot(db) == before


def test_move_records_into_a_new_master_creates_it_and_undo_removes_it(db):
    a, b = add_people(db, 0, 1)
    before = snapshot(db)
    with db.write() as conn:
        event_id = membership.move_records(conn, [a.id, b.id], "c" * 24, action="resolve", by="model")
    assert master_of(db, a.id) == master_of(db, b.id) == "c" * 24
    assert_consistent(db)
    with db.write() as conn:
        membership.undo(conn, event_id, by="DS 1")
    assert snapshot(db) == before


def test_apply_moves_sends_records_to_different_masters_in_one_event(db):
    a, b, c, d = add_people(db, 0, 1, 2, 3)
    before = snapshot(db)
    with db.write() as conn:
        event_id = membership.apply_moves(
            conn,
            {b.id: a.master_id, d.id: c.master_id, a.id: a.master_id},
            entity_type="person",
            action="resolve",
            by="batch",
        )
    assert (master_of(db, b.id), master_of(db, d.id)) == (a.master_id, c.master_id)
    assert_consistent(db)
    with db.write() as conn:
        membership.undo(conn, event_id, by="DS 1")
    assert snapshot(db) == before


def test_move_records_errors(db):
    (a,) = add_people(db, 0)
    crime = add_crime(db, "13/5/5")
    with db.write() as conn:
        with pytest.raises(NotFound):
            membership.move_records(conn, ["a" * 24], a.master_id, action="merge", by="x")
        with pytest.raises(BadRequest, match="different entity types"):
            membership.move_records(conn, [a.id, crime], a.master_id, action="merge", by="x")
        with pytest.raises(BadRequest, match="holds person records"):
            membership.move_records(conn, [crime], a.master_id, action="merge", by="x")


def test_history_lists_every_change_newest_first(db):
    a, b = add_people(db, 0, 1)
    with db.write() as conn:
        merged = membership.merge_masters(
            conn, [a.master_id, b.master_id], by="DS 1", reason="same PNC", now=T0 + dt.timedelta(days=1)
        )
        unmerge = membership.undo(conn, merged.event_id, by="DS 2", now=T0 + dt.timedelta(days=2))
    with db.read() as conn:
        events = membership.history(conn, a.master_id)
        other = membership.history(conn, b.master_id)
        with pytest.raises(NotFound):
            membership.history(conn, "9" * 24)
    assert [e["id"] for e in events] == [unmerge, merged.event_id] == [e["id"] for e in other]
    assert events[0] | {"at": None} == {
        "id": unmerge,
        "action": "unmerge",
        "at": None,
        "by": "DS 2",
        "reason": None,
        "undoes": merged.event_id,
        "undone_by": None,
        "detail": {},
        "records": [{"id": b.id, "from": a.master_id, "to": b.master_id}],
    }
    assert events[1]["undone_by"] == unmerge and events[1]["reason"] == "same PNC"
    assert events[1]["at"] == (T0 + dt.timedelta(days=1)).isoformat()
    assert events[1]["records"] == [{"id": b.id, "from": b.master_id, "to": a.master_id}]


# ---- random sequences keep the invariants, and undoing the last event restores the state before it ----

Step = st.tuples(
    st.sampled_from(["merge", "merge", "split", "split", "undo"]), st.integers(0, 5), st.integers(0, 5)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(Step, min_size=1, max_size=12))
def test_random_merges_splits_and_undos_keep_membership_consistent(db, steps):
    people = add_people(db, *range(6))
    events: list[tuple[str, object]] = []  # (event id, snapshot before it)
    for action, i, j in steps:
        before = snapshot(db)
        with db.write() as conn:
            if action == "merge":
                mi, mj = master_of_in(conn, people[i].id), master_of_in(conn, people[j].id)
                if mi == mj:
                    continue
                event_id = membership.merge_masters(conn, [mi, mj], by="h").event_id
            elif action == "split":
                here = master_of_in(conn, people[i].id)
                size = conn.execute(select(func.count()).where(record.c.master_id == here)).scalar()
                if size < 2:
                    continue
                event_id = membership.split_records(conn, [people[i].id], by="h")
            else:
                if not events:
                    continue
                last, state = events.pop()
                membership.undo(conn, last, by="h")
                event_id = None
        assert_consistent(db)
        if event_id is None:
            assert snapshot(db) == state  # the undo restored the state before the last event
        else:
            events.append((event_id, before))


def master_of_in(conn, record_id: str) -> str:
    return conn.execute(select(record.c.master_id).where(record.c.id == record_id)).scalar_one()
