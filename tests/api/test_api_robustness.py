"""The API answers every request with a problem or a result, never a 500, and a refused write stores nothing.

Each case here is an input a client can send; the expected answer is a 4xx problem (or a success), and the
database must be as it was before a refused write. The property test throws random JSON at person creation.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrms.api.app import create_app
from openrms.schema import registry
from tests.helpers import sign_in

PROV = {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1"}


def _not_a_500(response) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code != 500


# --- values that overflow once converted ---


def test_datetime_out_of_range_in_utc_is_a_422(api):
    """A date and time that is valid as written but has no UTC equivalent in Python's range."""
    moment = "9999-12-31T23:00:00-05:00"
    response = api.client.post(
        "/records/crime",
        json={"data": {"crime_type": "BURGLARY", "occurred_from": moment}, "provenance": PROV},
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"occurred_from"}
    assert api.count() == 0


def test_link_validity_out_of_range_in_utc_is_a_422(api):
    person = api.create("person", {"surname": "Smith"})["id"]
    crime = api.create("crime", {"crime_type": "BURGLARY"})["id"]
    response = api.client.post(
        "/links",
        json={
            "link_type": "SUSPECT",
            "from_id": person,
            "to_id": crime,
            "valid_from": "0001-01-01T00:00:00+05:00",
            "provenance": PROV,
        },
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"valid_from"}
    assert api.links_of(person) == []


def test_as_at_out_of_range_in_utc_is_not_a_500(api):
    person = api.create("person", {"surname": "Smith"})["id"]
    response = api.client.get(f"/records/{person}", params={"as_at": "0001-01-01T00:00:00+05:00"})
    assert response.status_code in (400, 404, 422), response.text
    api.problem(response, response.status_code)


def test_provenance_recorded_at_out_of_range_in_utc_is_not_a_500(api):
    response = api.client.post(
        "/records/person",
        json={
            "data": {"surname": "Smith"},
            "provenance": {**PROV, "recorded_at": "0001-01-01T00:00:00+05:00"},
        },
    )
    _not_a_500(response)


@pytest.mark.parametrize("version", [2**31, 2**63])
def test_huge_version_numbers_are_answered_not_crashed(api, version):
    """A version number no record can have is stale (409) on update and missing (404) on read."""
    person = api.create("person", {"surname": "Smith"})["id"]
    crime = api.create("crime", {"crime_type": "BURGLARY"})["id"]
    link = api.link("SUSPECT", person, crime)["id"]
    put = api.client.put(
        f"/records/{person}", json={"version": version, "recorded_by": "x", "data": {"surname": "Smyth"}}
    )
    assert api.problem(put, 409)["current_version"] == 1
    api.problem(api.client.get(f"/records/{person}", params={"version": version}), 404)
    stale_link = api.client.put(
        f"/links/{link}", json={"version": version, "recorded_by": "x", "deleted": True}
    )
    assert api.problem(stale_link, 409)["current_version"] == 1
    assert api.get(person)["data"] == {"surname": "Smith"}


def test_link_notes_with_a_huge_integer_are_not_a_500(api):
    person = api.create("person", {"surname": "Smith"})["id"]
    crime = api.create("crime", {"crime_type": "BURGLARY"})["id"]
    response = api.client.post(
        "/links",
        json={
            "link_type": "SUSPECT",
            "from_id": person,
            "to_id": crime,
            "data": {"exhibit": 2**70},
            "provenance": PROV,
        },
    )
    _not_a_500(response)
    if response.status_code == 201:
        assert api.client.get(f"/links/{response.json()['id']}").json()["data"] == {"exhibit": 2**70}
    else:
        assert api.links_of(person) == []


def test_link_update_with_a_huge_integer_is_not_a_500(api):
    person = api.create("person", {"surname": "Smith"})["id"]
    crime = api.create("crime", {"crime_type": "BURGLARY"})["id"]
    link = api.link("SUSPECT", person, crime)["id"]
    response = api.client.put(
        f"/links/{link}", json={"version": 1, "recorded_by": "x", "data": {"exhibit": 2**70}}
    )
    _not_a_500(response)


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_non_finite_number_in_a_field_is_a_422(api, number):
    """The server's JSON parser accepts NaN and Infinity; the refusal must still render as a problem."""
    # json.dumps writes these as the JSON extensions NaN, Infinity and -Infinity
    content = json.dumps({"data": {"surname": "Smith", "cro_number": number}, "provenance": PROV})
    response = api.client.post(
        "/records/person", content=content, headers={"content-type": "application/json"}
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"cro_number"}
    assert api.count() == 0


# --- text the database may not hold ---


def test_long_agency_code_is_accepted_or_refused_never_a_500(api):
    """Another agency's code (here absurdly long) is refused: you record for your own agency only."""
    agency = "A" * 60
    response = api.client.post(
        "/records/person", json={"data": {"surname": "Smith"}, "provenance": {**PROV, "agency": agency}}
    )
    _not_a_500(response)
    if response.status_code == 201:
        assert api.get(response.json()["id"])["provenance"]["agency"] == agency
    else:
        api.problem(response, 403)
        assert api.count() == 0


def test_nul_character_in_text_is_stored_or_refused_never_a_500(api):
    response = api.client.post(
        "/records/person",
        json={"data": {"surname": "Smith", "occupation": "plumber\x00"}, "provenance": PROV},
    )
    _not_a_500(response)
    if response.status_code != 201:
        api.problem(response, 422)
        assert api.count() == 0


def test_nul_character_in_provenance_is_not_a_500(api):
    response = api.client.post(
        "/records/person",
        json={
            "data": {"surname": "Smith"},
            "provenance": {**PROV, "source_key": "K\x001", "recorded_by": "PC\x001"},
        },
    )
    _not_a_500(response)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/records", {"after": "a\x00b"}),
        ("/records", {"entity_type": "person", "field.occupation": "plumber\x00"}),
        ("/records/a%00b", {}),
    ],
)
def test_nul_character_in_a_query_is_not_a_500(api, path, params):
    api.create("person", {"surname": "Smith"})
    response = api.client.get(path, params=params)
    _not_a_500(response)
    if response.status_code >= 400:
        api.problem(response, response.status_code)


# --- random JSON at person creation ---

PERSON_FIELDS = sorted(registry().entity("person").fields)
_PLAUSIBLE = st.sampled_from(
    [
        "Smith",
        "O'Brien",
        "Mary-Jane",
        "2001/0123456F",
        "01/123456F",
        "2001/0123456A",
        "123456/95K",
        "1985-03-02",
        "1985",
        "02/03/1985",
        "2999-01-01",
        "1800",
        "M",
        "f",
        "GBR",
        "Irish",
        "AB123456C",
        "SMITH851025J99AB",
        "SMITH 851025 J99AB",
        "",
        " ",
        "null",
        "true",
        "0",
        "-1",
        "1e309",
        "NaN",
    ]
)
# Non-finite floats are left to test_non_finite_number_in_a_field_is_a_422, so this can find other faults.
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    _PLAUSIBLE,
)
_JSON = st.recursive(
    _LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(max_size=12) | st.sampled_from(["height_cm", "build", "hair_colour"]),
            children,
            max_size=4,
        ),
    ),
    max_leaves=8,
)
_PERSON_DATA = st.dictionaries(st.sampled_from(PERSON_FIELDS), _JSON, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_PERSON_DATA)
def test_random_person_data_is_201_or_422_never_500(sqlite_db, data: dict[str, Any]):
    client = sign_in(TestClient(create_app(sqlite_db), raise_server_exceptions=False), sqlite_db)
    before = _count_people(client)
    response = client.post(
        "/records/person",
        content=json.dumps({"data": data, "provenance": PROV}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (201, 422), (response.status_code, response.text, data)
    after = _count_people(client)
    if response.status_code == 201:
        assert after == before + 1
        stored = client.get(response.headers["location"]).json()
        assert set(stored["data"]) <= set(data)
    else:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["issues"]
        assert after == before


def _count_people(client: TestClient) -> int:
    response = client.get("/records", params={"entity_type": "person", "limit": 500})
    assert response.status_code == 200, response.text
    return len(response.json()["items"])
