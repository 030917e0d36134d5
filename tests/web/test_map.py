"""The map page and its data endpoint: filters (event type, dates, radius), points, clusters and heat,
click-through fields, audit, bad input, and that what another agency may not see is never counted.

Every test runs on SQLite and PostgreSQL (the `db` fixture). The `seeded` burglary (13/1234/18) happened
on 2018-07-14 at a point in Leeds centre (LEEDS).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openrms.access import audit
from openrms.store.database import Database
from openrms.store.links import NewLink, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.web import pages_map
from tests.helpers import share_everything
from tests.web.conftest import LEEDS, USERNAME, add_user, make_client, sign_in

BOX = "-1.6,53.75,-1.5,53.85"
POINTS = "/ui/map/points"


def data(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get(POINTS, params={"bbox": BOX, **params})
    assert response.status_code == 200, response.text
    return response.json()


def add_crime(db: Database, key: str, lat: float, lon: float, agency: str = "WYP", **fields: Any) -> str:
    """A crime at a new point, linked OCCURRED_AT (as the seed's is); returns the crime's record id."""

    def prov(suffix: str) -> Provenance:
        return Provenance(agency=agency, source_system="RMS", recorded_by="PC 1", source_key=key + suffix)

    crime = {
        "reference": f"13/{key}/18",
        "crime_type": "OTHER_THEFT",
        "occurred_from": "2018-08-01",
        **fields,
    }
    place = {"latitude": lat, "longitude": lon}
    with db.write() as conn:
        made = create_records(
            conn, [NewRecord("crime", crime, prov("")), NewRecord("point", place, prov("-at"))]
        )
        upsert_links(conn, [NewLink("OCCURRED_AT", made[0].id, made[1].id, prov("-k"))])
    return made[0].id


def officer_of(db: Database, username: str, agency: str) -> TestClient:
    """A new client signed in, through the forms, as an officer of `agency` with a purpose and reason."""
    add_user(db, username, agency=agency)
    client = make_client(db)
    sign_in(client, "investigation", "Op MAP", username)
    return client


# ---------------------------------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------------------------------


def test_page_has_labelled_filters_and_the_heat_toggle(signed_in: TestClient, seeded: dict[str, str]) -> None:
    page = signed_in.get("/ui/map")
    assert page.status_code == 200
    html = page.text
    for field, label in [
        ("event_type", "Event type"),
        ("from", "Date from"),
        ("to", "Date to"),
        ("radius_m", "Distance in metres"),
        ("lat", "Latitude"),
        ("lon", "Longitude"),
        ("heat", "Show as heat map"),
    ]:
        assert re.search(rf'<label class="govuk-label[^"]*" for="{field}">\s*{label}\s*</label>', html), field
        assert f'id="{field}" name="{field}"' in html
    assert "Only events near a point (optional)</legend>" in html
    assert '<option value="BURGLARY">Crime: Burglary</option>' in html
    assert '<option value="crime">' in html
    assert "map.js" in html and "leaflet.js" in html
    assert "<script>" not in html.split("<main", 1)[1]  # no inline scripts (the CSP forbids them)


def test_page_lists_filtered_events_with_type_and_date(signed_in: TestClient, seeded: dict[str, str]) -> None:
    page = signed_in.get("/ui/map", params={"bbox": BOX, "event_type": "BURGLARY", "from": "2018-07"})
    assert page.status_code == 200
    assert f'href="/ui/records/{seeded["crime"]}"' in page.text
    assert "Crime: Burglary" in page.text and "14 July 2018" in page.text
    assert "<caption" in page.text and "1 event<" in page.text
    none = signed_in.get("/ui/map", params={"bbox": BOX, "from": "2019-01-01"})
    assert none.status_code == 200 and seeded["crime"] not in none.text
    assert "No events you may see match these filters" in none.text


def test_page_without_a_box_uses_the_area_around_leeds(signed_in: TestClient, seeded: dict[str, str]) -> None:
    page = signed_in.get("/ui/map", params={"event_type": "crime"})
    assert page.status_code == 200 and seeded["crime"] in page.text


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"from": "2018-13-45"}, "from", "Date from: expected a date"),
        ({"from": "2018-08-01", "to": "2018-07-01"}, "from", "is after"),
        ({"radius_m": "0", "lat": "53.8", "lon": "-1.5"}, "radius_m", "from 1 to 50000"),
        ({"radius_m": "50001", "lat": "53.8", "lon": "-1.5"}, "radius_m", "from 1 to 50000"),
        ({"radius_m": "500", "lat": "north", "lon": "-1.5"}, "lat", "Latitude: expected a number"),
        ({"radius_m": "500", "lat": "53.8"}, "lon", "Enter the longitude"),
        ({"event_type": "JAYWALKING"}, "event_type", "choose an event type from the list"),
    ],
)
def test_page_bad_filters_show_an_error_summary(
    signed_in: TestClient, seeded: dict[str, str], params: dict[str, str], field: str, words: str
) -> None:
    page = signed_in.get("/ui/map", params={"bbox": BOX, **params})
    assert page.status_code == 400
    assert "<title>Error: Map of events" in page.text
    assert 'class="govuk-error-summary"' in page.text and f'<a href="#{field}">' in page.text
    assert f'id="{field}-error"' in page.text and words in page.text
    assert 'data-invalid="1"' in page.text and seeded["crime"] not in page.text


def test_page_box_too_large_points_at_the_map(signed_in: TestClient, seeded: dict[str, str]) -> None:
    page = signed_in.get("/ui/map", params={"bbox": "-3,52,0,55"})
    assert page.status_code == 400 and '<a href="#map">' in page.text and "zoom in" in page.text


def test_without_a_reason_the_map_asks_for_one(client: TestClient, auth: str, seeded: dict[str, str]) -> None:
    sign_in(client, reason="")
    asked = client.get("/ui/map", params={"bbox": BOX})
    assert asked.status_code == 403 and "Why are you looking at events on the map?" in asked.text
    assert seeded["crime"] not in asked.text
    refused = client.get(POINTS, params={"bbox": BOX})
    assert refused.status_code == 403 and refused.json()["total"] == 0 and "reason" in refused.json()["error"]


# ---------------------------------------------------------------------------------------------------------
# the data endpoint
# ---------------------------------------------------------------------------------------------------------


def test_point_carries_what_the_popup_shows(signed_in: TestClient, seeded: dict[str, str]) -> None:
    found = data(signed_in)
    assert found["total"] == 1 and found["truncated"] is False
    [point] = found["clusters"]
    assert point["kind"] == "point" and point["count"] == 1
    [event] = point["events"]
    assert event["href"] == f"/ui/records/{seeded['crime']}" == point["href"]
    assert "13/1234/18" in event["title"]
    assert (event["date"], event["date_text"], event["type"]) == (
        "2018-07-14",
        "14 July 2018",
        "Crime: Burglary",
    )
    assert found["heat"] == [[pytest.approx(LEEDS[0]), pytest.approx(LEEDS[1]), 1.0]]


@pytest.mark.parametrize(
    ("params", "total"),
    [
        ({"event_type": "BURGLARY"}, 1),
        ({"event_type": "crime"}, 1),
        ({"event_type": "DRUGS"}, 0),
        ({"event_type": "incident"}, 0),
        ({"from": "2018-07-14", "to": "2018-07-14"}, 1),
        ({"from": "2018-07"}, 1),
        ({"to": "2018-06-30"}, 0),
        ({"from": "2018-07-15"}, 0),
        ({"radius_m": "100", "lat": str(LEEDS[0]), "lon": str(LEEDS[1])}, 1),
        ({"radius_m": "500", "lat": "53.8200", "lon": "-1.5491"}, 0),  # about 2.1 km north
        ({"radius_m": "2500", "lat": "53.8200", "lon": "-1.5491"}, 1),
    ],
)
def test_filters_by_type_date_and_radius(
    signed_in: TestClient, seeded: dict[str, str], params: dict[str, str], total: int
) -> None:
    assert data(signed_in, **params)["total"] == total


def test_radius_replaces_the_box(signed_in: TestClient, seeded: dict[str, str]) -> None:
    """A radius search is not limited to the visible box (the engine takes one or the other)."""
    far_box = "-1.0,53.0,-0.9,53.1"
    near = {"radius_m": "1000", "lat": str(LEEDS[0]), "lon": str(LEEDS[1])}
    assert signed_in.get(POINTS, params={"bbox": far_box, **near}).json()["total"] == 1
    assert signed_in.get(POINTS, params=near).json()["total"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "14/14/2018"}, "from"),
        ({"to": "last week"}, "to"),
        ({"from": "2018-08", "to": "2018-07"}, "from"),
        ({"radius_m": "0", "lat": "53.8", "lon": "-1.5"}, "radius_m"),
        ({"radius_m": "50001", "lat": "53.8", "lon": "-1.5"}, "radius_m"),
        ({"radius_m": "ten", "lat": "53.8", "lon": "-1.5"}, "radius_m"),
        ({"radius_m": "500", "lat": "53,8", "lon": "-1.5"}, "lat"),
        ({"radius_m": "500", "lat": "53.8", "lon": "-200"}, "lon"),
        ({"radius_m": "500"}, "lat"),
        ({"lat": "53.8", "lon": "-1.5"}, "radius_m"),
        ({"event_type": "NOT_A_TYPE"}, "event_type"),
        ({"bbox": "-3,52,0,55"}, "bbox"),
        ({"bbox": "west,52,0,55"}, "bbox"),
    ],
)
def test_bad_input_is_a_400_with_a_message(
    signed_in: TestClient, seeded: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = signed_in.get(POINTS, params={"bbox": BOX, **params})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == field and body["error"] and body["total"] == 0 and body["clusters"] == []


def test_data_needs_a_box_or_a_radius(signed_in: TestClient, seeded: dict[str, str]) -> None:
    response = signed_in.get(POINTS, params={"event_type": "crime"})
    assert response.status_code == 400 and "bbox" in response.json()["error"]


def test_many_events_come_back_as_clusters_that_zoom(
    signed_in: TestClient, seeded: dict[str, str], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_crime(db, "near1", LEEDS[0] + 0.0005, LEEDS[1] + 0.0005)
    add_crime(db, "near2", LEEDS[0] - 0.0005, LEEDS[1] - 0.0005)
    add_crime(db, "far", 53.84, -1.52)
    assert all(c["kind"] == "point" for c in data(signed_in)["clusters"])
    monkeypatch.setattr(pages_map, "MAX_POINTS", 2)
    found = data(signed_in)
    assert found["total"] == 4
    kinds = sorted((c["kind"], c["count"]) for c in found["clusters"])
    assert kinds == [("cluster", 3), ("point", 1)]
    cluster = next(c for c in found["clusters"] if c["kind"] == "cluster")
    assert "title" not in cluster and "events" not in cluster
    lo_lat, lo_lon, hi_lat, hi_lon = cluster["bounds"]
    assert lo_lat < LEEDS[0] < hi_lat and lo_lon < LEEDS[1] < hi_lon
    assert sum(cell[2] for cell in found["heat"]) == 4


def test_events_at_one_spot_share_a_point(
    signed_in: TestClient, seeded: dict[str, str], db: Database
) -> None:
    other = add_crime(db, "same", LEEDS[0], LEEDS[1])
    [point] = data(signed_in)["clusters"]
    assert point["count"] == 2 and {e["id"] for e in point["events"]} == {seeded["crime"], other}


def test_the_data_is_audited_as_a_map_search(
    signed_in: TestClient, seeded: dict[str, str], db: Database
) -> None:
    data(signed_in, event_type="BURGLARY", **{"from": "2018-07"})
    with db.read() as conn:
        entries = [e for e in audit.by_user(conn, USERNAME) if e["action"] == "search"]
    entry = entries[0]
    assert entry["record_ids"] == [seeded["crime"]]
    assert entry["detail"]["view"] == "map" and entry["detail"]["total"] == 1
    assert entry["detail"]["filters"] == {"event_type": "BURGLARY", "from": "2018-07"}
    assert entry["purpose"] == "investigation" and entry["reason"] == "Op TEST"


# ---------------------------------------------------------------------------------------------------------
# other agencies
# ---------------------------------------------------------------------------------------------------------


def test_another_agency_sees_and_counts_nothing_it_may_not_see(
    client: TestClient, auth: str, seeded: dict[str, str], db: Database
) -> None:
    nyp_crime = add_crime(db, "nyp1", LEEDS[0] + 0.001, LEEDS[1], agency="NYP")
    nyp = officer_of(db, "nyp.officer", "NYP")
    with nyp:
        found = data(nyp)
        assert found["total"] == 1  # only its own crime: WYP's burglary is neither shown nor counted
        assert [e["id"] for c in found["clusters"] for e in c["events"]] == [nyp_crime]
        assert len(found["heat"]) == 1
        page = nyp.get("/ui/map", params={"bbox": BOX})
        assert seeded["crime"] not in page.text and nyp_crime in page.text
        assert data(nyp, event_type="BURGLARY")["total"] == 0
    sign_in(client)
    mine = data(client)
    assert mine["total"] == 1 and nyp_crime not in str(mine)


def test_an_agreement_lets_the_other_agency_see_it(
    client: TestClient, seeded: dict[str, str], db: Database
) -> None:
    share_everything(db, "WYP", "NYP")
    nyp = officer_of(db, "nyp.partner", "NYP")
    with nyp:
        found = data(nyp, event_type="BURGLARY")
    assert found["total"] == 1 and found["clusters"][0]["href"] == f"/ui/records/{seeded['crime']}"
