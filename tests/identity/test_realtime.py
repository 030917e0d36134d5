"""Real-time resolution: every record written through the store or the API finds its master at once.

The master index's write hook (`openrms.identity.hooks`) is active in every test here, with the model shipped
with OpenRMS (no index trains its own in these tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import openrms.identity.hooks  # noqa: F401  (registers the write hook the tests below rely on)
from openrms.api.app import create_app
from openrms.identity import judgements, membership, saved_models
from openrms.identity.features import features_of, keys_of
from openrms.identity.model import MATCH_AT, REVIEW_AT
from openrms.identity.resolver import match, on_records_written
from openrms.schema.formats import pnc_check_letter
from openrms.store import hooks
from openrms.store.database import Database
from openrms.store.ids import master_id_for
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, WriteOutcome, create_records, retract_records, update_record
from openrms.store.scope import Unrestricted
from openrms.store.tables import (
    judgement,
    master,
    master_event,
    match_features,
    match_key,
    membership_change,
    record,
)
from tests.helpers import sign_in

JOHN = {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02", "gender": "M"}
PNC = f"2001/0123456{pnc_check_letter(2001, 123456)}"
OTHER_PNC = f"1999/0654321{pnc_check_letter(1999, 654321)}"
SYSTEMS = iter(f"SYS{n}" for n in range(1_000_000))


@pytest.fixture(autouse=True)
def resolving(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Exactly the master index's hook runs on writes, with the shipped model (forget models other tests
    trained: on PostgreSQL they share a database URL, which the model cache is keyed on)."""
    monkeypatch.setattr(hooks, "_after_write", [on_records_written])
    monkeypatch.setattr(saved_models, "_cache", {})
    monkeypatch.setattr(saved_models, "_latest", {})
    yield


def add(
    db: Database,
    data: dict[str, Any],
    *,
    entity_type: str = "person",
    system: str | None = None,
    agency: str = "WYP",
) -> WriteOutcome:
    """One record from its own source system (each call a different system unless `system` is given)."""
    prov = Provenance(agency=agency, source_system=system or next(SYSTEMS), recorded_by="PC 1234")
    with db.write() as conn:
        return create_records(conn, [NewRecord(entity_type, data, prov)])[0]


def master_of(db: Database, record_id: str) -> str:
    with db.read() as conn:
        return conn.execute(select(record.c.master_id).where(record.c.id == record_id)).scalar_one()


def members(db: Database, master_id: str) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(select(record.c.id).where(record.c.master_id == master_id)).scalars())


def snapshot(db: Database) -> tuple[dict[str, str], dict[str, tuple[Any, ...]]]:
    with db.read() as conn:
        records = {r.id: r.master_id for r in conn.execute(select(record.c.id, record.c.master_id))}
        masters = {m.id: (m.status, m.merged_into) for m in conn.execute(select(master))}
    return records, masters


def resolve_events(db: Database) -> list[Any]:
    with db.read() as conn:
        return conn.execute(select(master_event).where(master_event.c.action == "resolve")).all()


def candidates_for(db: Database, entity_type: str, data: dict[str, Any]) -> list[str]:
    with db.read() as conn:
        answer = match(conn, entity_type, data, Unrestricted("test"))
    return [c["record_id"] for c in answer["candidates"]]


# ---- persons ----


def test_an_exact_duplicate_from_another_system_joins_the_first_records_master(db):
    first = add(db, JOHN, system="NICHE")
    second = add(db, JOHN, system="CUSTODY")
    assert first.master_id == master_id_for(first.id)
    assert master_of(db, first.id) == master_of(db, second.id) == first.master_id
    assert members(db, first.master_id) == {first.id, second.id}
    with db.read() as conn:
        left = conn.execute(
            select(master.c.status, master.c.merged_into).where(master.c.id == master_id_for(second.id))
        )
        assert left.one() == ("merged", first.master_id)
        verdict = judgements.current_judgement(conn, first.id, second.id)
    assert verdict is not None
    assert (verdict["decision"], verdict["by_kind"], verdict["by"]) == ("same", "model", "model person v0")
    assert verdict["probability"] >= MATCH_AT


def test_an_exact_duplicate_created_through_the_api_joins_too(db):
    with TestClient(create_app(db), raise_server_exceptions=False) as client:
        sign_in(client, db)
        prov = {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1234"}
        first = client.post("/records/person", json={"data": JOHN, "provenance": prov}).json()
        second = client.post(
            "/records/person", json={"data": JOHN, "provenance": {**prov, "source_system": "RMS"}}
        ).json()
        shown = client.get(f"/records/{second['id']}").json()
        view = client.get(f"/masters/{first['master_id']}").json()
    assert shown["master_id"] == first["master_id"]
    assert {r["id"] for r in view["records"]} == {first["id"], second["id"]}


def test_the_create_response_names_the_master_the_record_joined(db):
    with TestClient(create_app(db), raise_server_exceptions=False) as client:
        sign_in(client, db)
        prov = {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1234"}
        first = client.post("/records/person", json={"data": JOHN, "provenance": prov}).json()
        second = client.post(
            "/records/person", json={"data": JOHN, "provenance": {**prov, "source_system": "RMS"}}
        ).json()
    assert master_of(db, second["id"]) == first["master_id"]
    assert second["master_id"] == first["master_id"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            {**JOHN, "pnc_id": PNC},
            {"forenames": "Jon", "surname": "Smyth", "date_of_birth": "1985-03-02", "pnc_id": PNC},
            id="misspelt-names-shared-pnc",
        ),
        pytest.param(
            {
                "forenames": "William",
                "surname": "Hartley",
                "date_of_birth": "1971-09-14",
                "ni_number": "JG103759A",
            },
            {
                "forenames": "Bill",
                "surname": "Hartley",
                "date_of_birth": "1971-09-14",
                "ni_number": "JG103759A",
            },
            id="nickname-same-dob-and-ni",
        ),
        pytest.param(
            {"forenames": "Imran", "surname": "Hussain", "date_of_birth": "1990-12-25", "gender": "M"},
            {"forenames": "Hussain", "surname": "Imran", "date_of_birth": "1990-12-25", "gender": "M"},
            id="forename-and-surname-swapped",
        ),
    ],
)
def test_the_same_person_written_differently_joins(db, first, second):
    a = add(db, first)
    b = add(db, second)
    assert master_of(db, b.id) == master_of(db, a.id) == a.master_id
    with db.read() as conn:
        verdict = judgements.current_judgement(conn, a.id, b.id)
    assert verdict["decision"] == "same" and verdict["probability"] >= MATCH_AT
    assert verdict["explanation"]["why"], "a join says why"


def test_a_clearly_different_person_stays_their_own_master(db):
    a = add(db, {**JOHN, "ni_number": "JG103759A"})
    b = add(db, {**JOHN, "date_of_birth": "1962-11-20", "ni_number": "JK555555B"})
    assert master_of(db, a.id) == a.master_id
    assert master_of(db, b.id) == b.master_id != a.master_id
    assert resolve_events(db) == []
    with db.read() as conn:
        assert judgements.current_judgement(conn, a.id, b.id) is None  # not even worth a review
        assert judgements.review_queue(conn) == []


def test_a_doubtful_pair_waits_in_the_review_queue(db):
    """Same name, but one record has only the year of birth (and no gender): probable, not certain."""
    a = add(db, {"forenames": "Peter", "surname": "Quill", "date_of_birth": "1970-05-06", "gender": "M"})
    b = add(db, {"forenames": "Peter", "surname": "Quill", "date_of_birth": "1970"})
    assert master_of(db, a.id) == a.master_id and master_of(db, b.id) == b.master_id
    assert resolve_events(db) == []
    with db.read() as conn:
        queue = judgements.review_queue(conn, entity_type="person")
        stored = conn.execute(select(judgement).where(judgement.c.current.is_(True))).all()
    assert len(queue) == 1
    item = queue[0]
    assert {item["records"]["a"]["id"], item["records"]["b"]["id"]} == {a.id, b.id}
    assert (item["decision"], item["by_kind"], item["same_master"]) == ("review", "model", False)
    assert REVIEW_AT <= item["probability"] < MATCH_AT
    levels = {w["comparison"]: w["level"] for w in item["explanation"]["why"]}
    assert levels["date_of_birth"] == "partial date agrees"
    assert [(j.decision, j.by_kind) for j in stored] == [("review", "model")]


def test_a_person_judging_two_records_different_stops_a_later_automatic_join(db):
    a = add(db, JOHN)
    b = add(db, {**JOHN, "date_of_birth": "1962-11-20"})  # not the same: stays apart
    assert master_of(db, b.id) == b.master_id
    with db.write() as conn:
        judgements.record_judgement(conn, a.id, b.id, "different", by_kind="person", by="DS Jones")
    # b is corrected to a's date of birth: the model would now join them, but a person said no.
    with db.write() as conn:
        update_record(conn, b.id, JOHN, 1, recorded_by="PC 2")
    assert master_of(db, b.id) == b.master_id != master_of(db, a.id)
    # A control pair, corrected the same way without the judgement, does join.
    gareth = {"forenames": "Gareth", "surname": "Pryce", "date_of_birth": "1979-06-30", "gender": "M"}
    c = add(db, gareth)
    d = add(db, {**gareth, "date_of_birth": "1962-11-20"})
    assert master_of(db, d.id) == d.master_id
    with db.write() as conn:
        update_record(conn, d.id, gareth, 1, recorded_by="PC 2")
    assert master_of(db, d.id) == master_of(db, c.id)
    with db.read() as conn:
        assert judgements.current_judgement(conn, a.id, b.id)["by_kind"] == "person"
    assert master_of(db, a.id) != master_of(db, b.id)


def test_a_third_record_matching_both_does_not_join_two_records_a_person_called_different(db):
    """A new record that matches two records a person judged different joins one of them, never both."""
    a = add(db, JOHN)
    b = add(db, {**JOHN, "date_of_birth": "1962-11-20"})
    with db.write() as conn:
        judgements.record_judgement(conn, a.id, b.id, "different", by_kind="person", by="DS Jones")
        update_record(conn, b.id, JOHN, 1, recorded_by="PC 2")
    c = add(db, JOHN)
    assert master_of(db, c.id) in (master_of(db, a.id), master_of(db, b.id))
    assert master_of(db, a.id) != master_of(db, b.id)
    with db.read() as conn:
        queue = judgements.review_queue(conn)
    # The pair the third record could not settle is left for a person.
    assert len(queue) == 1 and c.id in {queue[0]["records"]["a"]["id"], queue[0]["records"]["b"]["id"]}


def test_the_join_is_one_resolve_event_that_undo_reverts_exactly(db):
    a = add(db, JOHN)
    before = snapshot(db)
    b = add(db, JOHN)
    (event,) = resolve_events(db)
    assert (event.entity_type, event.by, event.undone_by) == ("person", "model person v0", None)
    with db.read() as conn:
        changes = conn.execute(
            select(
                membership_change.c.record_id, membership_change.c.old_master, membership_change.c.new_master
            ).where(membership_change.c.event_id == event.id)
        ).all()
    assert b.master_id == a.master_id  # the write's outcome names the master it joined
    assert [tuple(c) for c in changes] == [(b.id, master_id_for(b.id), a.master_id)]
    with db.write() as conn:
        undo_id = membership.undo(conn, event.id, by="DS Jones", reason="not the same man")
    records, masters = snapshot(db)
    # Every record and master is as it was, plus b alone in its own, active master.
    assert records == {**before[0], b.id: master_id_for(b.id)}
    assert masters == {**before[1], master_id_for(b.id): ("active", None)}
    with db.read() as conn:
        undone = conn.execute(select(master_event).where(master_event.c.id == event.id)).one()
        unmerge = conn.execute(select(master_event).where(master_event.c.id == undo_id)).one()
    assert undone.undone_by == undo_id
    assert (unmerge.action, unmerge.undoes) == ("unmerge", event.id)


def test_several_records_joined_in_one_write_are_one_event(db):
    a = add(db, JOHN)
    prov = Provenance(agency="WYP", source_system="BULK", recorded_by="PC 1234")
    with db.write() as conn:
        written = create_records(
            conn,
            [
                NewRecord("person", JOHN, prov),
                NewRecord("person", {**JOHN, "forenames": "Jon", "surname": "Smyth"}, prov),
            ],
        )
    assert {master_of(db, w.id) for w in written} == {a.master_id}
    (event,) = resolve_events(db)
    with db.write() as conn:
        membership.undo(conn, event.id, by="DS Jones")
    assert {w.id: master_of(db, w.id) for w in written} == {w.id: master_id_for(w.id) for w in written}


# ---- types resolved by rules ----


def test_vehicles_with_one_vrm_written_differently_share_a_master(db):
    a = add(db, {"vrm": "AB12 CDE", "make": "Ford"}, entity_type="vehicle")
    b = add(db, {"vrm": "ab12cde"}, entity_type="vehicle")
    assert master_of(db, b.id) == master_of(db, a.id) == a.master_id
    with db.read() as conn:
        verdict = judgements.current_judgement(conn, a.id, b.id)
    assert (verdict["decision"], verdict["by"]) == ("same", "rules vehicle")


def test_vehicles_with_one_vrm_but_different_vins_stay_apart(db):
    a = add(db, {"vrm": "AB12 CDE", "vin": "1HGCM82633A004352"}, entity_type="vehicle")
    b = add(db, {"vrm": "AB12CDE", "vin": "1M8GDM9AXKP042788"}, entity_type="vehicle")
    assert master_of(db, a.id) == a.master_id
    assert master_of(db, b.id) == b.master_id
    # ...while the same VIN under another plate (a re-registered car) is the same vehicle.
    c = add(db, {"vrm": "XY70 ZZZ", "vin": "1m8gdm9axkp042788"}, entity_type="vehicle")
    assert master_of(db, c.id) == b.master_id


def test_phone_numbers_written_differently_share_a_master(db):
    a = add(db, {"number": "0113 496 0000"}, entity_type="telephone")
    b = add(db, {"number": "+441134960000"}, entity_type="telephone")
    c = add(db, {"number": "0113 496 0001"}, entity_type="telephone")
    assert master_of(db, b.id) == master_of(db, a.id) == a.master_id
    assert master_of(db, c.id) == c.master_id


def test_records_of_different_types_never_share_a_master(db):
    phone = add(db, {"number": "07700 900123"}, entity_type="telephone")
    org = add(db, {"name": "Acme Ltd", "telephone": "07700 900123"}, entity_type="organisation")
    assert master_of(db, phone.id) == phone.master_id
    assert master_of(db, org.id) == org.master_id


# ---- the index follows the record ----


def _stored_keys(db: Database, record_id: str) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(select(match_key.c.key).where(match_key.c.record_id == record_id)).scalars())


def test_updating_a_record_reindexes_it(db):
    old = {**JOHN, "pnc_id": PNC}
    new = {"forenames": "Aleksander", "surname": "Nowak", "date_of_birth": "1979-08-30", "pnc_id": OTHER_PNC}
    a = add(db, old)
    assert _stored_keys(db, a.id) == keys_of("person", features_of("person", old))
    with db.write() as conn:
        update_record(conn, a.id, new, 1, recorded_by="PC 2")
    assert _stored_keys(db, a.id) == keys_of("person", features_of("person", new))
    assert not _stored_keys(db, a.id) & keys_of("person", features_of("person", old))
    assert candidates_for(db, "person", old) == []
    assert candidates_for(
        db, "person", {"surname": "Nowak", "forenames": "Aleksander", "date_of_birth": "1979-08-30"}
    ) == [a.id]
    # A record written later with the old details no longer finds it.
    b = add(db, old)
    assert master_of(db, b.id) == b.master_id


def test_a_retracted_record_is_no_longer_a_candidate(db):
    a = add(db, JOHN)
    assert candidates_for(db, "person", JOHN) == [a.id]
    with db.write() as conn:
        assert retract_records(conn, [a.id], recorded_by="PC 2", reason="entered in error") == 1
    assert candidates_for(db, "person", JOHN) == []
    assert _stored_keys(db, a.id) == set()
    with db.read() as conn:
        assert conn.execute(select(match_features).where(match_features.c.record_id == a.id)).first() is None
    b = add(db, JOHN)
    assert master_of(db, b.id) == b.master_id


def test_a_vague_record_between_two_people_joins_neither(db):
    """ "John Smith, born 1985-03" could be either of two John Smiths born that month, who are not each other:
    it is ambiguous, so it joins neither (nor chains them together) and both pairs wait for review."""
    first = add(db, {**JOHN, "date_of_birth": "1985-03-02"}, system="NICHE")
    second = add(db, {**JOHN, "date_of_birth": "1985-03-24"}, system="RMS")
    assert master_of(db, first.id) != master_of(db, second.id)
    vague = add(db, {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03"}, system="CMS")
    assert len({master_of(db, r.id) for r in (first, second, vague)}) == 3
    with db.read() as conn:
        queued = {
            frozenset((item["records"]["a"]["id"], item["records"]["b"]["id"]))
            for item in judgements.review_queue(conn, entity_type="person")
        }
    assert {frozenset((vague.id, first.id)), frozenset((vague.id, second.id))} <= queued
