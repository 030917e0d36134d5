"""POST /match: check a record against the master index without saving it.

Graded candidates with their evidence; nothing written; bad types refused as problem+json; and a candidate
the caller may not see is reported only as the agency to contact, with nothing else about it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, Table, func, select, true

from openrms.api.app import create_app
from openrms.identity import saved_models
from openrms.identity.model import MATCH_AT, REVIEW_AT
from openrms.identity.resolver import match, on_records_written
from openrms.schema.formats import pnc_check_letter
from openrms.store import hooks
from openrms.store.database import Database
from openrms.store.scope import Unrestricted
from openrms.store.tables import (
    judgement,
    master,
    master_event,
    match_features,
    match_key,
    record,
    record_version,
)
from tests.helpers import sign_in

PROBLEM = "application/problem+json"
PROV = {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1234"}
JOHN = {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02", "gender": "M"}
PNC = f"2001/0123456{pnc_check_letter(2001, 123456)}"
HIDDEN_PNC = f"1999/0654321{pnc_check_letter(1999, 654321)}"
# The record the caller may not see: North Yorkshire's, the same man by name and date of birth, but the PNC
# says he is not the West Yorkshire record's man, so the two are separate masters.
HIDDEN = {
    "forenames": "Jon",
    "surname": "Smyth",
    "date_of_birth": "1985-03-02",
    "gender": "M",
    "pnc_id": HIDDEN_PNC,
}
COUNTED = (record, record_version, master, match_key, match_features, judgement, master_event)


@pytest.fixture(autouse=True)
def resolving(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The master index's hook on writes, and the shipped model (not one another test trained)."""
    monkeypatch.setattr(hooks, "_after_write", [on_records_written])
    monkeypatch.setattr(saved_models, "_cache", {})
    monkeypatch.setattr(saved_models, "_latest", {})
    yield


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        sign_in(test_client, db)
        yield test_client


class HideAgency:
    """A read scope that may see every record except one agency's (the ReadScope protocol, nothing more)."""

    def __init__(self, agency: str) -> None:
        self.agency = agency

    @property
    def actor(self) -> str:
        return "DC Test"

    @property
    def purpose(self) -> str | None:
        return "investigation"

    def records(self, record_table: Table, fields: Any = ()) -> ColumnElement[bool]:
        return record_table.c.agency != self.agency

    def redact(self, agency: str, entity_type: str, data: Any) -> dict[str, Any]:
        return dict(data)

    def links(self, link_table: Table) -> ColumnElement[bool]:
        return true()

    def mentionable(self, record_table: Table) -> ColumnElement[bool]:
        return true()


def create(
    client: TestClient, data: dict[str, Any], entity_type: str = "person", **prov: str
) -> dict[str, Any]:
    agency = prov.get("agency", PROV["agency"])
    if agency != PROV["agency"]:  # another agency's record is written by one of its own users
        client = sign_in(
            TestClient(client.app), client.app.state.db, username=f"user.{agency}", agency=agency
        )
    response = client.post(f"/records/{entity_type}", json={"data": data, "provenance": {**PROV, **prov}})
    assert response.status_code == 201, response.text
    created = response.json()
    # The record's master as it stands once the master index has resolved it.
    created["master_id"] = client.get(f"/records/{created['id']}").json()["master_id"]
    return created


def post_match(client: TestClient, entity_type: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = client.post("/match", json={"entity_type": entity_type, "data": data, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in COUNTED}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].startswith("/problems/")
    assert body["title"] and body["detail"] and body["instance"] == "/match"
    return body


# ---- graded candidates ----


def test_candidates_are_graded_with_probability_master_title_and_why(client, db):
    john = create(client, {**JOHN, "pnc_id": PNC})
    # Queued for review against John (a variant forename, year of birth only): a master of its own.
    partial = create(
        client, {"forenames": "Jon", "surname": "Smith", "date_of_birth": "1985"}, source_system="RMS"
    )
    assert partial["master_id"] != john["master_id"]
    before = counts(db)

    answer = post_match(client, "person", {**JOHN, "pnc_id": PNC})
    assert answer["entity_type"] == "person" and answer["model_version"] == 0
    assert answer["restricted"] == []
    assert [c["master_id"] for c in answer["candidates"]] == [john["master_id"], partial["master_id"]]
    best, doubtful = answer["candidates"]
    assert best["record_id"] == john["id"] and best["title"] == "John Smith 1985-03-02"
    assert best["agency"] == "WYP"
    assert best["grade"] == "certain" and best["probability"] >= 0.999
    assert doubtful["grade"] == "possible" and REVIEW_AT <= doubtful["probability"] < MATCH_AT
    why = {w["comparison"]: w for w in best["why"]}
    assert {name: w["level"] for name, w in why.items()} == {
        "forename": "exact",
        "surname": "exact",
        "date_of_birth": "exact",
        "sex": "exact",
        "pnc_id": "exact",
    }
    for w in best["why"]:
        assert w["bayes_factor"] > 1 and w["weight"] > 0
    # Strongest evidence first.
    assert [abs(w["weight"]) for w in best["why"]] == sorted(
        (abs(w["weight"]) for w in best["why"]), reverse=True
    )
    assert {w["comparison"]: w["level"] for w in doubtful["why"]}["date_of_birth"] == "partial date agrees"
    assert counts(db) == before, "matching saved something"


def test_a_misspelt_entry_is_a_probable_candidate_with_evidence_for_and_against(client):
    john = create(client, {**JOHN, "pnc_id": PNC})
    answer = post_match(
        client, "person", {"forenames": "Jon", "surname": "Smyth", "date_of_birth": "1985-03-02"}
    )
    (candidate,) = answer["candidates"]
    assert candidate["master_id"] == john["master_id"]
    assert candidate["grade"] == "probable" and MATCH_AT <= candidate["probability"] < 0.999
    levels = {w["comparison"]: w["level"] for w in candidate["why"]}
    assert levels["surname"] == "sounds the same" and levels["date_of_birth"] == "exact"
    assert "pnc_id" not in levels  # not given: no evidence either way

    against = post_match(client, "person", {**JOHN, "pnc_id": HIDDEN_PNC})
    assert against["candidates"] == []  # another PNC: a different man, not even possible


def test_one_candidate_per_master(client):
    first = create(client, JOHN)
    second = create(client, JOHN, source_system="CUSTODY")
    assert second["master_id"] == first["master_id"]
    answer = post_match(client, "person", JOHN)
    assert [c["master_id"] for c in answer["candidates"]] == [first["master_id"]]
    assert answer["candidates"][0]["record_id"] in (first["id"], second["id"])


def test_limit_caps_the_candidates(client):
    for n, system in enumerate(("NICHE", "RMS", "CUSTODY")):
        # Different PNCs keep the three apart; without one in the entry, each may be him.
        create(
            client,
            {**JOHN, "pnc_id": f"2001/012345{n}{pnc_check_letter(2001, 123450 + n)}"},
            source_system=system,
        )
    assert len(post_match(client, "person", JOHN)["candidates"]) == 3
    assert len(post_match(client, "person", JOHN, limit=1)["candidates"]) == 1


def test_rule_types_match_on_normalised_keys(client, db):
    van = create(client, {"vrm": "AB12 CDE", "make": "Ford"}, "vehicle")
    before = counts(db)
    answer = post_match(client, "vehicle", {"vrm": "ab12cde"})
    (candidate,) = answer["candidates"]
    assert (candidate["master_id"], candidate["grade"], candidate["probability"]) == (
        van["master_id"],
        "certain",
        1.0,
    )
    assert candidate["why"] == [{"comparison": "vrm", "level": "exact", "rule": "same normalised value"}]
    assert post_match(client, "vehicle", {"vrm": "AB12 CDF"})["candidates"] == []
    assert counts(db) == before


# ---- refused and empty requests ----


@pytest.mark.parametrize("entity_type", ["crime", "stop_search", "spaceship"])
def test_types_that_are_not_matched_are_a_400_problem(client, entity_type):
    response = client.post("/match", json={"entity_type": entity_type, "data": {"reference": "13/1/18"}})
    body = assert_problem(response, 400)
    assert repr(entity_type) in body["detail"] and "person" in body["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"surname": "Smith"}},
        {"entity_type": "person"},
        {"entity_type": "person", "data": "Smith"},
        {"entity_type": "person", "data": {}, "limit": 0},
        {"entity_type": "person", "data": {}, "limit": 51},
    ],
)
def test_malformed_requests_are_a_422_problem(client, body):
    response = client.post("/match", json=body)
    assert_problem(response, 422)


@pytest.mark.parametrize(
    "entity_type", ["person", "vehicle", "telephone", "email", "address", "organisation"]
)
def test_empty_data_has_no_candidates(client, entity_type):
    create(client, JOHN)
    answer = post_match(client, entity_type, {})
    assert (answer["candidates"], answer["restricted"]) == ([], [])


def test_nothing_to_block_on_has_no_candidates(client):
    create(client, JOHN)
    assert post_match(client, "person", {"gender": "M"})["candidates"] == []


# ---- restricted candidates ----


def _hidden_and_visible(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    visible = create(client, {**JOHN, "pnc_id": PNC})
    hidden = create(client, HIDDEN, agency="NYP", source_system="RMS")
    assert hidden["master_id"] != visible["master_id"]
    return visible, hidden


def _assert_nothing_of(answer: dict[str, Any], hidden: dict[str, Any]) -> None:
    text = json.dumps(answer)
    for secret in (
        hidden["id"],
        hidden["master_id"],
        "Smyth",
        "SMYTH",
        HIDDEN_PNC,
        HIDDEN_PNC.replace("/", ""),
    ):
        assert secret not in text, f"{secret!r} leaked: {text}"


def test_a_candidate_the_caller_may_not_see_is_only_the_agency_to_contact(client, db):
    visible, hidden = _hidden_and_visible(client)
    query = {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02"}
    with db.read() as conn:
        everyone = match(conn, "person", query, Unrestricted("test"))
        answer = match(conn, "person", query, HideAgency("NYP"))
    # Seen by everyone, both are candidates; the restricted caller sees one, and hears of the other.
    assert {c["record_id"] for c in everyone["candidates"]} == {visible["id"], hidden["id"]}
    assert [c["record_id"] for c in answer["candidates"]] == [visible["id"]]
    assert answer["restricted"] == [
        {"grade": "probable", "agency": "NYP", "message": "a restricted record may match; contact NYP"}
    ]
    _assert_nothing_of(answer, hidden)


def test_a_restricted_match_alone_reveals_nothing_else(client, db):
    _, hidden = _hidden_and_visible(client)
    with db.read() as conn:
        answer = match(conn, "person", HIDDEN, HideAgency("NYP"))
    assert answer["candidates"] == []
    (only,) = answer["restricted"]
    assert set(only) == {"grade", "agency", "message"}
    assert (only["grade"], only["agency"]) == ("certain", "NYP")
    _assert_nothing_of(answer, hidden)


def test_restricted_candidates_over_http(client, db):
    visible, hidden = _hidden_and_visible(client)
    # NYP shares nothing with WYP: the signed-in WYP caller cannot see NYP's records
    try:
        answer = post_match(
            client, "person", {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02"}
        )
    finally:
        client.app.dependency_overrides.clear()
    assert [c["master_id"] for c in answer["candidates"]] == [visible["master_id"]]
    assert [(r["grade"], r["agency"]) for r in answer["restricted"]] == [("probable", "NYP")]
    _assert_nothing_of(answer, hidden)


@pytest.mark.parametrize(
    ("markings", "vetting"),
    [
        ({"classification": "SECRET"}, "OFFICIAL"),
        ({"handling": "4"}, "TOP-SECRET"),
    ],
    ids=["above-vetting", "handling-4"],
)
def test_a_candidate_no_agreement_could_open_is_not_even_hinted(client, db, markings, vetting):
    """A SECRET record to an OFFICIAL-vetted officer, or one handled "originating agency only", is invisible
    even as "contact NYP": only records an agreement could share are worth a phone call."""
    visible = create(client, {**JOHN, "pnc_id": PNC})
    hidden = create(client, HIDDEN, agency="NYP", source_system="RMS", **markings)
    caller = sign_in(TestClient(client.app), db, username="dc.official", vetting=vetting)
    answer = post_match(
        caller, "person", {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02"}
    )
    assert [c["master_id"] for c in answer["candidates"]] == [visible["master_id"]]
    assert answer["restricted"] == []
    _assert_nothing_of(answer, hidden)
    alone = post_match(caller, "person", HIDDEN)
    assert (alone["candidates"], alone["restricted"]) == ([], [])
