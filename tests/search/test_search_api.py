"""GET /search and /search/suggest over HTTP: answers, and a clear 400 for every kind of bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrms.api.app import create_app
from openrms.search.query import PARAMETERS
from tests.helpers import share_everything, sign_in
from tests.search.conftest import LEEDS

PROBLEM = "application/problem+json"


@pytest.fixture
def client(seeded):
    with TestClient(create_app(seeded.db), raise_server_exceptions=False) as test_client:
        sign_in(test_client, seeded.db)
        share_everything(seeded.db, "BTP", "WYP")  # BTP shares with WYP; NCA shares with nobody
        yield test_client


def _problem(response, fragment: str) -> dict:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert fragment.lower() in body["detail"].lower(), body["detail"]
    return body


def test_search_over_http(client, seeded):
    body = client.get("/search", params={"q": "Jon Smyth born about 1985"}).json()
    assert body["results"][0]["master_id"] == seeded.masters["john"]
    assert body["results"][0]["records"] == 2
    body = client.get("/search", params={"vrm": "AB1?C*"}).json()
    assert {r["title"].split()[0] for r in body["results"]} == {"AB12CDE", "AB19CXY"}
    params = {
        "crime_type": "Burglary",
        "lat": LEEDS[0],
        "lon": LEEDS[1],
        "radius_m": 500,
        "from": "2018-07-01",
        "to": "2018-07-31",
    }
    body = client.get("/search", params=params).json()
    assert body["results"][0]["record_id"] in {seeded.ids["burglary_centre"], seeded.ids["hidden_crime"]}
    assert body["results"][0]["why"][0]["rule"] == "geo"
    body = client.get("/search", params=[("type", "vehicle"), ("type", "person"), ("q", "ford")]).json()
    assert {r["entity_type"] for r in body["results"]} == {"vehicle"}


def test_suggest_over_http(client, seeded):
    body = client.get("/search/suggest", params={"field": "name", "prefix": "john sm"}).json()
    assert body["suggestions"][0]["master_id"] == seeded.masters["john"]
    assert len(body["suggestions"]) <= 10
    body = client.get("/search/suggest", params={"field": "vrm", "prefix": "ab 12"}).json()
    assert [s["label"].split()[0] for s in body["suggestions"]] == ["AB12CDE"]
    _problem(client.get("/search/suggest", params={"field": "colour", "prefix": "bl"}), "field")
    _problem(client.get("/search/suggest", params={"field": "name", "prefix": "j"}), "at least 2")
    _problem(client.get("/search/suggest", params={"field": "name"}), "prefix")
    _problem(client.get("/search/suggest", params={"field": "name", "prefix": "jo", "limit": "50"}), "limit")


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "at least one search criterion"),
        ({"type": "person"}, "at least one search criterion"),
        ({"q": ""}, "empty"),
        ({"q": "   "}, "empty"),
        ({"q": "!!!"}, "no letters or digits"),
        ({"q": "x" * 201}, "at most 200"),
        ({"q": "abc\x07def"}, "non-printable"),
        ({"vrm": "*"}, "at least 2"),
        ({"vrm": "?*?"}, "at least 2"),
        ({"vrm": "A*B"}, "side by side"),
        ({"q": "plate *"}, "not a usable VRM"),
        ({"vrm": "ABCDEFGHIJKLM"}, "at most 10"),
        ({"vrm": "€€"}, "expected letters"),
        ({"dob": "1985-13-01"}, "expected a date"),
        ({"dob": "yesterday"}, "expected a date"),
        ({"dob_from": "1990", "dob_to": "1980"}, "after"),
        ({"from": "2018-02-30"}, "expected a date"),
        ({"lat": "53.8", "lon": "-1.5", "radius_m": "0"}, "radius_m"),
        ({"lat": "53.8", "lon": "-1.5", "radius_m": "20000000"}, "radius_m"),
        ({"lat": "53.8", "lon": "-1.5", "radius_m": "nan"}, "radius_m"),
        ({"lat": "53.8", "radius_m": "100"}, "missing lon"),
        ({"lat": "91", "lon": "0", "radius_m": "100"}, "lat"),
        ({"bbox": "-2,53,0,55"}, "square degree"),
        ({"bbox": "1,2,3"}, "minlon"),
        ({"bbox": "-1,54,-2,53"}, "less than"),
        ({"colour": "tartan"}, "unknown vehicle colour"),
        ({"crime_type": "jaywalking"}, "unknown crime type"),
        ({"event_type": "picnic"}, "unknown event type"),
        ({"gender": "Q"}, "unknown gender"),
        ({"phone": "call me"}, "not a telephone number"),
        ({"email": "nobody"}, "not an e-mail"),
        ({"postcode": "LEEDS"}, "expected a postcode"),
        ({"pnc_id": "!!!"}, "not a usable"),
        ({"ho_class": "burglary"}, "NNN/NN"),
        ({"offence_code": "X"}, "CJS code"),
        ({"hate": "maybe"}, "true or false"),
        ({"per_page": "1000"}, "1 to 100"),
        ({"page": "0", "q": "smith"}, "page"),
        ({"sort": "random", "q": "smith"}, "sort"),
        ({"surname": "Smith", "vrm": "AB12CDE"}, "no record could match"),
        ({"favourite_colour": "blue"}, "unknown parameter"),
        ({"age_from": "40", "age_to": "30"}, "age_to"),
        ({"age_at": "2020-01-01"}, "needs age_from"),
        ({"surname": ["Smith", "Jones"]}, "more than once"),
    ],
)
def test_bad_input_is_a_clear_400(client, params, fragment):
    body = _problem(client.get("/search", params=params), fragment)
    assert body["status"] == 400 and body["type"] == "/problems/bad-request"


def test_binary_and_nul_are_refused(client):
    assert client.get("/search?q=%00abc").status_code == 400
    _problem(client.get("/search?q=%FF%FE%01"), "non-printable")


def test_hidden_records_do_not_leak_over_http(seeded):
    app = create_app(seeded.db)
    with TestClient(app) as client:
        sign_in(client, seeded.db)  # a WYP user: NCA's records are another agency's, shared with nobody
        text = client.get("/search", params={"q": "jewellery"}).text
        text += client.get("/search", params={"surname": "Smith"}).text
        text += client.get("/search/suggest", params={"field": "name", "prefix": "ze"}).text
    for name in ("hidden_person", "hidden_crime"):
        assert seeded.ids[name] not in text and seeded.masters[name] not in text
    assert "Zebedee" not in text and "Covert" not in text


_names = st.sampled_from(sorted(PARAMETERS))
_values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=190, max_size=400),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["*", "?", "~", "1985", "-1", "1e309", "nan", "0", "AB1?C*", ",,,", "2018-07", "true"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(_names, _values, min_size=1, max_size=4))
def test_random_input_never_gives_a_500(client, params):
    response = client.get("/search", params=params)
    assert response.status_code in (200, 400), (params, response.text)
    if response.status_code == 400:
        assert response.headers["content-type"].startswith(PROBLEM)
    else:
        json.loads(response.text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.text(max_size=10), prefix=st.text(max_size=120))
def test_random_suggest_input_never_gives_a_500(client, field, prefix):
    response = client.get("/search/suggest", params={"field": field, "prefix": prefix})
    assert response.status_code in (200, 400), response.text
