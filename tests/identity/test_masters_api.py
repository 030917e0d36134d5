"""The master index over HTTP: master views, history, merge, split, unmerge, export, review and judgements."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openrms.api.app import create_app
from openrms.identity import judgements
from openrms.store.database import Database
from tests.helpers import sign_in
from tests.identity.membership_support import (  # noqa: F401  (no_resolution is an autouse fixture)
    no_resolution,
    person_data,
)

PROBLEM = "application/problem+json"


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        sign_in(test_client, db)
        yield test_client


def create(client: TestClient, i: int, system: str = "NICHE", **data: Any) -> dict[str, Any]:
    body = {
        "data": person_data(i, **data),
        "provenance": {"agency": "WYP", "source_system": system, "recorded_by": "PC 1"},
    }
    response = client.post("/records/person", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_merge_then_the_master_shows_both_records_their_links_and_golden_provenance(client):
    a, b = create(client, 0), create(client, 1, system="CUSTODY")
    crime = ok(
        client.post(
            "/records/crime",
            json={
                "data": {"crime_type": "BURGLARY", "reference": "13/1/1"},
                "provenance": {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1"},
            },
        )
    )
    link_body = {"from_id": b["id"], "to_id": crime["id"], "link_type": "SUSPECT"}
    link_body["provenance"] = {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1"}
    link = ok(client.post("/links", json=link_body))
    merged = ok(
        client.post("/masters/merge", json={"master_ids": [b["master_id"], a["master_id"]], "reason": "x"})
    )
    assert merged["master_id"] == a["master_id"] and merged["event_id"]
    view = ok(client.get(f"/masters/{a['master_id']}", params={"history": "true"}))
    assert sorted(r["id"] for r in view["records"]) == sorted([a["id"], b["id"]])
    assert [lk["id"] for lk in view["links"]] == [link["id"]]
    forenames = view["golden"]["forenames"]
    assert (forenames["value"], forenames["record_id"]) == ("Bartholomew", b["id"])  # CUSTODY outranks NICHE
    assert (forenames["source_system"], forenames["rule"]) == ("CUSTODY", "most_trusted")
    assert [e["id"] for e in view["history"]] == [merged["event_id"]]
    gone = problem(client.get(f"/masters/{b['master_id']}"), 404)
    assert b["master_id"] in gone["detail"]


def test_history_split_and_undo_over_http(client):
    a, b, c = create(client, 0), create(client, 1), create(client, 2)
    merged = ok(
        client.post("/masters/merge", json={"master_ids": [a["master_id"], b["master_id"], c["master_id"]]})
    )
    split = ok(
        client.post(f"/masters/{a['master_id']}/split", json={"record_ids": [c["id"]], "reason": "not her"})
    )
    history = ok(client.get(f"/masters/{a['master_id']}/history"))
    assert [e["id"] for e in history["events"]] == [split["event_id"], merged["event_id"]]
    assert history["events"][0]["records"] == [{"id": c["id"], "from": a["master_id"], "to": c["master_id"]}]
    assert history["events"][0]["by"] == "test.supervisor" and history["events"][0]["reason"] == "not her"
    # c moved since the merge: the merge cannot be undone until the split is
    refused = problem(client.post(f"/masters/events/{merged['event_id']}/undo", json={}), 409)
    assert c["id"] in refused["detail"]
    ok(client.post(f"/masters/events/{split['event_id']}/undo", json={"reason": "it was her"}))
    undone = ok(client.post(f"/masters/events/{merged['event_id']}/undo", json={"reason": "wrong"}))
    assert undone["undoes"] == merged["event_id"]
    for record in (a, b, c):
        assert ok(client.get(f"/records/{record['id']}"))["master_id"] == record["master_id"]
    problem(client.post(f"/masters/events/{merged['event_id']}/undo", json={}), 409)


def test_master_errors_are_problems(client):
    a, b = create(client, 0), create(client, 1)
    missing = "0" * 24
    problem(client.get(f"/masters/{missing}"), 404)
    problem(client.get(f"/masters/{missing}/history"), 404)
    problem(client.post("/masters/merge", json={"master_ids": [a["master_id"]]}), 400)
    problem(client.post("/masters/merge", json={"master_ids": [a["master_id"], missing]}), 404)
    problem(client.post("/masters/merge", json={"master_ids": "nope"}), 422)
    problem(client.post(f"/masters/{a['master_id']}/split", json={"record_ids": [a["id"]]}), 409)
    problem(client.post(f"/masters/{a['master_id']}/split", json={"record_ids": [b["id"]]}), 400)
    problem(client.post(f"/masters/{a['master_id']}/split", json={"record_ids": [missing]}), 404)
    problem(client.post(f"/masters/events/{missing}/undo", json={}), 404)


def test_a_person_different_judgement_makes_a_merge_a_409(client):
    a, b = create(client, 0), create(client, 1)
    judged = ok(
        client.post("/judgements", json={"record_a": a["id"], "record_b": b["id"], "decision": "different"})
    )
    assert judged["effect"]["action"] is None
    body = problem(client.post("/masters/merge", json={"master_ids": [a["master_id"], b["master_id"]]}), 409)
    assert a["id"] in body["detail"] and b["id"] in body["detail"] and "new judgement" in body["detail"]


def test_export_streams_one_csv_row_per_record(client):
    a, b, c = create(client, 0), create(client, 1), create(client, 2)
    ok(client.post("/masters/merge", json={"master_ids": [a["master_id"], b["master_id"]]}))
    response = client.get("/masters/export", params={"type": "person"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["record_id"] for r in rows] == sorted(r["id"] for r in (a, b, c))
    masters = {r["record_id"]: r["master_id"] for r in rows}
    assert masters == {a["id"]: a["master_id"], b["id"]: a["master_id"], c["id"]: c["master_id"]}
    assert {(r["agency"], r["source_system"]) for r in rows} == {("WYP", "NICHE")}
    assert all(r["source_key"] for r in rows)
    problem(client.get("/masters/export", params={"type": "spaceship"}), 400)
    problem(client.get("/masters/export"), 422)


def test_review_queue_show_and_decide_over_http(client, db):
    a, b, c, d = create(client, 0), create(client, 1), create(client, 2), create(client, 3)
    with db.write() as conn:
        high = judgements.record_judgement(
            conn,
            a["id"],
            b["id"],
            "review",
            by_kind="model",
            by="m",
            probability=0.9,
            explanation={"why": ["dob"]},
        )
        low = judgements.record_judgement(
            conn, c["id"], d["id"], "review", by_kind="model", by="m", probability=0.6
        )
    page = ok(client.get("/review", params={"type": "person", "limit": 1}))
    assert [i["judgement_id"] for i in page["items"]] == [high] and page["next_after"] == high
    rest = ok(client.get("/review", params={"after": page["next_after"]}))
    assert [i["judgement_id"] for i in rest["items"]] == [low] and rest["next_after"] is None
    item = ok(client.get(f"/review/{high}"))
    assert item["explanation"] == {"why": ["dob"]} and "surname" in item["differences"]
    assert item["masters"] == {"a": item["records"]["a"]["master_id"], "b": item["records"]["b"]["master_id"]}
    decided = ok(client.post(f"/review/{high}/decision", json={"decision": "same", "reason": "same PNC"}))
    assert decided["effect"]["action"] == "merge"
    assert ok(client.get(f"/records/{b['id']}"))["master_id"] == a["master_id"]
    assert [i["judgement_id"] for i in ok(client.get("/review"))["items"]] == [low]
    problem(client.post(f"/review/{high}/decision", json={"decision": "different"}), 409)
    problem(client.post(f"/review/{low}/decision", json={"decision": "maybe"}), 422)
    problem(client.post(f"/review/{'0' * 24}/decision", json={"decision": "same"}), 404)
    problem(client.get(f"/review/{'0' * 24}"), 404)
    problem(client.get("/review", params={"type": "spaceship"}), 400)


def test_judgements_endpoint(client):
    a, b = create(client, 0), create(client, 1)
    response = client.post("/judgements", json={"record_a": a["id"], "record_b": b["id"], "decision": "same"})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/review/{response.json()['judgement_id']}"
    assert response.json()["effect"]["masters_after"] == {"a": a["master_id"], "b": a["master_id"]}
    problem(
        client.post("/judgements", json={"record_a": a["id"], "record_b": "0" * 24, "decision": "same"}), 404
    )
    problem(
        client.post("/judgements", json={"record_a": a["id"], "record_b": a["id"], "decision": "same"}), 400
    )
    problem(
        client.post("/judgements", json={"record_a": a["id"], "record_b": b["id"], "decision": "review"}), 422
    )
