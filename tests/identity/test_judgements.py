"""Judgements and the review queue: who decided what and when, people over the model, and what a decision
does to membership, on each back end."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from openrms.errors import BadRequest, Conflict, NotFound
from openrms.identity import judgements, membership
from openrms.store.scope import Unrestricted
from openrms.store.tables import judgement, master_event
from tests.identity.membership_support import (  # noqa: F401  (no_resolution is an autouse fixture)
    T0,
    add_crime,
    add_people,
    master_of,
    no_resolution,
)

LATER = T0 + dt.timedelta(days=1)


def _all(db):
    with db.read() as conn:
        return {r.id: r for r in conn.execute(select(judgement))}


def test_a_judgement_is_stored_with_its_pair_ordered_and_becomes_current(db):
    a, b = add_people(db, 0, 1)
    low, high = sorted([a.id, b.id])
    with db.write() as conn:
        jid = judgements.record_judgement(
            conn,
            high,
            low,
            "review",
            by_kind="model",
            by="model v3",
            probability=0.72,
            model_version=3,
            explanation={"why": ["surname differs"]},
            now=T0,
        )
        current = judgements.current_judgement(conn, low, high)
        assert judgements.current_judgement(conn, high, low) == current
    assert current == {
        "id": jid,
        "record_a": low,
        "record_b": high,
        "entity_type": "person",
        "decision": "review",
        "by_kind": "model",
        "by": "model v3",
        "at": T0.isoformat(),
        "probability": 0.72,
        "model_version": 3,
        "reason": None,
        "explanation": {"why": ["surname differs"]},
        "current": True,
    }


def test_newer_judgements_supersede_older_ones_but_the_model_never_overrides_a_person(db):
    a, b = add_people(db, 0, 1)
    with db.write() as conn:
        first = judgements.record_judgement(conn, a.id, b.id, "review", by_kind="model", by="m", now=T0)
        second = judgements.record_judgement(conn, a.id, b.id, "same", by_kind="model", by="m", now=T0)
        person = judgements.record_judgement(
            conn, a.id, b.id, "different", by_kind="person", by="DS 1", reason="different PNC", now=LATER
        )
        model_after = judgements.record_judgement(
            conn, a.id, b.id, "same", by_kind="model", by="m", probability=0.99, now=LATER
        )
        assert judgements.current_judgement(conn, a.id, b.id)["id"] == person
    rows = _all(db)
    assert {jid: bool(rows[jid].current) for jid in (first, second, person, model_after)} == {
        first: False,
        second: False,
        person: True,
        model_after: False,  # stored, never current
    }
    with db.write() as conn:
        again = judgements.record_judgement(conn, a.id, b.id, "same", by_kind="person", by="DS 2", now=LATER)
        assert judgements.current_judgement(conn, a.id, b.id)["id"] == again  # a person may change it


def test_bad_judgements_are_refused(db):
    a, b = add_people(db, 0, 1)
    crime = add_crime(db, "1/2/3")
    with db.write() as conn:
        for args, kwargs, error in [
            ((a.id, b.id, "maybe"), {"by_kind": "model"}, BadRequest),
            ((a.id, b.id, "same"), {"by_kind": "robot"}, BadRequest),
            ((a.id, b.id, "review"), {"by_kind": "person"}, BadRequest),
            ((a.id, a.id, "same"), {"by_kind": "person"}, BadRequest),
            ((a.id, b.id, "same"), {"by_kind": "model", "probability": 1.5}, BadRequest),
            ((a.id, "0" * 24, "same"), {"by_kind": "person"}, NotFound),
            ((a.id, crime, "same"), {"by_kind": "person"}, BadRequest),
        ]:
            with pytest.raises(error):
                judgements.record_judgement(conn, *args, by="x", **kwargs)
        assert judgements.current_judgement(conn, a.id, b.id) is None


def test_record_judgements_in_bulk(db):
    people = add_people(db, *range(6))
    ids = [p.id for p in people]
    with db.write() as conn:
        judgements.record_judgement(conn, ids[0], ids[1], "different", by_kind="person", by="DS 1")
        rows = [
            {"record_a": ids[0], "record_b": ids[1], "decision": "same", "by_kind": "model", "by": "m"},
            {"record_a": ids[2], "record_b": ids[3], "decision": "review", "by_kind": "model", "by": "m"},
            {"record_a": ids[3], "record_b": ids[2], "decision": "same", "by_kind": "model", "by": "m"},
            *(
                {
                    "record_a": ids[4],
                    "record_b": ids[5],
                    "decision": "review",
                    "by_kind": "model",
                    "by": "m",
                    "probability": p,
                    "model_version": 2,
                }
                for p in (0.6, 0.7)
            ),
        ]
        new = judgements.record_judgements(conn, rows, now=T0)
        current = {
            (r.record_a, r.record_b): r.id
            for r in conn.execute(select(judgement).where(judgement.c.current.is_(True)))
        }
        with pytest.raises(BadRequest, match="judgement 1"):
            judgements.record_judgements(conn, [rows[0], {**rows[1], "decision": "nope"}])
        with pytest.raises(BadRequest, match="unknown members"):
            judgements.record_judgements(conn, [{**rows[0], "colour": "red"}])
    assert len(new) == 5
    pair = lambda x, y: (min(x, y), max(x, y))  # noqa: E731
    assert current[pair(ids[0], ids[1])] not in new  # the person's stays current
    assert current[pair(ids[2], ids[3])] == new[2]  # the later of the batch wins
    assert current[pair(ids[4], ids[5])] == new[4]
    assert len(current) == 3


def _queue_of_three(db):
    people = add_people(db, *range(6))
    a, b, c, d, e, f = (p.id for p in people)
    with db.write() as conn:
        made = {
            "low": judgements.record_judgement(
                conn, a, b, "review", by_kind="model", by="m", probability=0.5
            ),
            "high": judgements.record_judgement(
                conn, c, d, "review", by_kind="model", by="m", probability=0.9
            ),
            "mid": judgements.record_judgement(
                conn, e, f, "review", by_kind="model", by="m", probability=0.7
            ),
        }
        judgements.record_judgement(conn, a, c, "same", by_kind="model", by="m", probability=0.99)
    return people, made


def test_the_review_queue_is_most_likely_first_in_keyset_pages(db):
    _people, made = _queue_of_three(db)
    with db.read() as conn:
        whole = judgements.review_queue(conn)
        first = judgements.review_queue(conn, limit=2)
        rest = judgements.review_queue(conn, limit=2, after=first[-1]["judgement_id"])
        assert judgements.review_queue(conn, entity_type="vehicle") == []
        with pytest.raises(BadRequest):
            judgements.review_queue(conn, entity_type="spaceship")
        with pytest.raises(BadRequest):
            judgements.review_queue(conn, limit=0)
        with pytest.raises(BadRequest):
            judgements.review_queue(conn, after="nope")
    assert [i["judgement_id"] for i in whole] == [made["high"], made["mid"], made["low"]]
    assert [i["judgement_id"] for i in first + rest] == [i["judgement_id"] for i in whole]
    assert [i["probability"] for i in whole] == [0.9, 0.7, 0.5]


def test_a_queue_item_compares_the_two_records_side_by_side(db):
    people, made = _queue_of_three(db)
    with db.read() as conn:
        item = judgements.review_queue(conn, limit=1)[0]
        again = judgements.review_item(conn, made["high"], scope=Unrestricted("t"))
        with pytest.raises(NotFound):
            judgements.review_item(conn, "0" * 24)
    a_id, b_id = sorted([people[2].id, people[3].id])
    assert item["judgement_id"] == made["high"]
    assert (item["records"]["a"]["id"], item["records"]["b"]["id"]) == (a_id, b_id)
    assert item["masters"] == {"a": master_of(db, a_id), "b": master_of(db, b_id)}
    assert item["same_master"] is False
    assert item["differences"] == ["forenames", "surname", "date_of_birth", "gender"]
    assert item["comparison"][0]["field"] == "forenames" and item["comparison"][0]["same"] is False
    assert {item["comparison"][0]["a"], item["comparison"][0]["b"]} == {"Cordelia", "Desmond"}
    assert again["judgement_id"] == made["high"] and again["current_judgement"]["id"] == made["high"]


def test_deciding_same_merges_the_masters(db):
    people, made = _queue_of_three(db)
    c, d = people[2], people[3]
    with db.write() as conn:
        outcome = judgements.decide(conn, made["high"], "same", by="DS 1", reason="same PNC")
        queue = [i["judgement_id"] for i in judgements.review_queue(conn)]
        current = judgements.current_judgement(conn, c.id, d.id)
    survivor = c.master_id  # the older master
    assert master_of(db, c.id) == master_of(db, d.id) == survivor
    effect = outcome["effect"]
    assert effect["action"] == "merge" and effect["event_id"]
    assert set(effect["masters_before"].values()) == {c.master_id, d.master_id}
    assert set(effect["masters_after"].values()) == {survivor}
    assert made["high"] not in queue
    assert (current["id"], current["by_kind"], current["by"], current["decision"], current["reason"]) == (
        outcome["judgement_id"],
        "person",
        "DS 1",
        "same",
        "same PNC",
    )


def test_deciding_different_splits_the_later_record_off_and_blocks_merging_again(db):
    a, b = add_people(db, 0, 1)
    with db.write() as conn:
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 1")
        jid = judgements.record_judgement(
            conn, a.id, b.id, "review", by_kind="model", by="m", probability=0.8
        )
        outcome = judgements.decide(conn, jid, "different", by="DS 2")
    assert outcome["effect"]["action"] == "split" and outcome["effect"]["split_off"] == b.id
    assert (master_of(db, a.id), master_of(db, b.id)) == (a.master_id, b.master_id)
    with db.write() as conn, pytest.raises(Conflict):
        membership.merge_masters(conn, [a.master_id, b.master_id], by="DS 3")


def test_deciding_unsure_changes_no_membership_but_leaves_the_queue(db):
    _people, made = _queue_of_three(db)
    with db.write() as conn:
        outcome = judgements.decide(conn, made["mid"], "unsure", by="DS 1")
        queue = [i["judgement_id"] for i in judgements.review_queue(conn)]
        events = conn.execute(select(func.count()).select_from(master_event)).scalar()
    assert outcome["effect"]["action"] is None and outcome["effect"]["event_id"] is None
    assert made["mid"] not in queue and events == 0


def test_deciding_twice_or_badly_is_refused(db):
    _people, made = _queue_of_three(db)
    with db.write() as conn:
        judgements.decide(conn, made["low"], "unsure", by="DS 1")
    with db.write() as conn:
        with pytest.raises(Conflict, match="already decided"):
            judgements.decide(conn, made["low"], "same", by="DS 2")
        with pytest.raises(BadRequest):
            judgements.decide(conn, made["mid"], "review", by="DS 2")
        with pytest.raises(NotFound):
            judgements.decide(conn, "0" * 24, "same", by="DS 2")


def test_a_later_model_review_of_a_decided_pair_stays_off_the_queue(db):
    a, b = add_people(db, 0, 1)
    with db.write() as conn:
        judgements.judge(conn, a.id, b.id, "unsure", by="DS 1")
        judgements.record_judgement(conn, a.id, b.id, "review", by_kind="model", by="m", probability=0.8)
        assert judgements.review_queue(conn) == []
