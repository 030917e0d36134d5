"""The link chart: the page and its table fallback, hops, link-type and date filters, graph.json and expand,
the GraphML download, the node cap, audit, bad input, and that what the caller may not see (another
agency's records, a SECRET record, a retracted link) is a 404 or simply absent, never a node.

Every test runs on SQLite and PostgreSQL (the `db` fixture). The `seeded` data: John Smith (two records,
"john" and "johnny", of one master) is the SUSPECT in a burglary that OCCURRED_AT a place in Leeds, and
"johnny" is the KEEPER_OF a car since 2017-01-01. Links without dates count as recorded today.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from openrms.access import audit
from openrms.store.database import Database
from openrms.store.links import NewLink, links_of, update_link, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.store.scope import Unrestricted
from openrms.web import network as net
from tests.web.conftest import USERNAME, sign_in
from tests.web.test_map import officer_of

NS = {"g": net.GRAPHML_NS}


def chart(client: TestClient, record_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/ui/network/{record_id}/graph.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def node_ids(body: dict[str, Any]) -> set[str]:
    return {n["id"] for n in body["nodes"]}


def add(db: Database, entity_type: str, data: dict[str, Any], key: str, **prov: Any) -> str:
    provenance = Provenance(
        agency=prov.pop("agency", "WYP"), source_system="RMS", recorded_by="PC 1", source_key=key, **prov
    )
    with db.write() as conn:
        return create_records(conn, [NewRecord(entity_type, data, provenance)])[0].id


def link(db: Database, link_type: str, a: str, b: str, key: str, agency: str = "WYP", **more: Any) -> None:
    prov = Provenance(agency=agency, source_system="RMS", recorded_by="PC 1", source_key=key)
    with db.write() as conn:
        upsert_links(conn, [NewLink(link_type, a, b, prov, **more)])


# ---------------------------------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------------------------------


def test_page_lists_every_node_and_link_in_tables(signed_in: TestClient, seeded: dict[str, str]) -> None:
    page = signed_in.get(f"/ui/network/{seeded['john']}")
    assert page.status_code == 200, page.text
    html = page.text
    for name in ("john", "johnny", "crime", "place", "car"):
        assert f'data-node="{seeded[name]}"' in html, name
    assert "Burglary 13/1234/18" in html and "Briggate, Leeds" in html and "AB12CDE" in html
    assert f'href="/ui/records/{seeded["crime"]}"' in html
    assert "5 records" in html and "(the start)" in html
    for words in ("Suspect in", "Happened at", "Registered keeper of", "Same entity as", "1 January 2017"):
        assert words in html, words
    assert 'id="network-chart"' in html and "cytoscape.min.js" in html and "network.js" in html
    assert 'type="application/json" id="network-data"' in html
    assert "<script>" not in html.split("<main", 1)[1]  # no inline scripts (the CSP forbids them)
    assert "<script>alert(1)</script>" not in html  # titles are data, escaped everywhere (JSON included)
    assert f"/ui/network/{seeded['john']}/graphml" in html and "Download GraphML" in html
    assert "Download PNG" in html
    for label in ("Hops from the start", "Date from", "Date to", "Suspect in", "Apply"):
        assert label in html


def test_record_and_person_pages_link_to_the_chart(signed_in: TestClient, seeded: dict[str, str]) -> None:
    for name in ("car", "place", "crime"):
        page = signed_in.get(f"/ui/records/{seeded[name]}")
        assert page.status_code == 200 and f'href="/ui/network/{seeded[name]}"' in page.text
        assert "Draw the network" in page.text
    person = signed_in.get(f"/ui/people/{seeded['john']}", follow_redirects=True)
    assert person.status_code == 200 and "Draw the network" in person.text and "/ui/network/" in person.text


def test_hops_limit_the_walk(signed_in: TestClient, seeded: dict[str, str]) -> None:
    one = chart(signed_in, seeded["john"], hops="1")
    assert node_ids(one) == {seeded["john"], seeded["crime"], seeded["johnny"]}
    assert {n["depth"] for n in one["nodes"]} == {0, 1}
    two = chart(signed_in, seeded["john"])  # the default: 2
    assert node_ids(two) == set(seeded.values())
    depth = {n["id"]: n["depth"] for n in two["nodes"]}
    assert depth[seeded["place"]] == 2 and depth[seeded["car"]] == 2
    assert node_ids(chart(signed_in, seeded["car"], hops="4")) == set(seeded.values())
    assert node_ids(chart(signed_in, seeded["car"], hops="1")) == {seeded["car"], seeded["johnny"]}


@pytest.mark.parametrize(
    ("types", "names"),
    [
        (["SUSPECT", "OCCURRED_AT"], {"john", "crime", "place"}),
        (["SUSPECT"], {"john", "crime"}),
        (["SAME_ENTITY", "KEEPER_OF"], {"john", "johnny", "car"}),
        (["KEEPER_OF"], {"john"}),  # john's own records hold no KEEPER_OF: johnny's is not reached
    ],
)
def test_link_type_filter(
    signed_in: TestClient, seeded: dict[str, str], types: list[str], names: set[str]
) -> None:
    body = chart(signed_in, seeded["john"], type=types)
    assert node_ids(body) == {seeded[n] for n in names}
    assert {e["type"] for e in body["edges"]} <= set(types)


@pytest.mark.parametrize(
    ("window", "names"),
    [
        ({"from": "2017-01", "to": "2017-12-31"}, {"john", "johnny", "car"}),  # only the dated keeper link
        ({"to": "2016-12-31"}, {"john", "johnny"}),  # nothing in force then: the same-entity edge stays
        ({"from": "today"}, {"john", "johnny", "crime", "place", "car"}),  # undated: recorded today
    ],
)
def test_date_filter(
    signed_in: TestClient, seeded: dict[str, str], window: dict[str, str], names: set[str]
) -> None:
    window = {k: dt.date.today().isoformat() if v == "today" else v for k, v in window.items()}
    body = chart(signed_in, seeded["john"], **window)
    assert node_ids(body) == {seeded[n] for n in names}


def test_graph_json_shape(signed_in: TestClient, seeded: dict[str, str]) -> None:
    body = chart(signed_in, seeded["john"])
    assert body["start"] == seeded["john"] and body["capped"] is False and body["expanded"] is None
    start = [n for n in body["nodes"] if n["start"]]
    assert [n["id"] for n in start] == [seeded["john"]]
    node = next(n for n in body["nodes"] if n["id"] == seeded["car"])
    assert node == {
        "id": seeded["car"],
        "entity_type": "vehicle",
        "type_label": node["type_label"],
        "category": "object",
        "label": node["label"],
        "start": False,
        "depth": 2,
        "href": f"/ui/records/{seeded['car']}",
    }
    assert "AB12CDE" in node["label"]
    keeper = next(e for e in body["edges"] if e["type"] == "KEEPER_OF")
    assert (keeper["source"], keeper["target"]) == (seeded["johnny"], seeded["car"])
    assert keeper["label"] == "Registered keeper of" and keeper["valid_from"] == "2017-01-01"
    assert keeper["valid_to"] is None and keeper["created"] == dt.date.today().isoformat()
    assert {e["type"] for e in body["edges"]} == {"SUSPECT", "OCCURRED_AT", "KEEPER_OF", "SAME_ENTITY"}
    ends = {e["source"] for e in body["edges"]} | {e["target"] for e in body["edges"]}
    assert ends <= node_ids(body)


def test_expand_returns_one_nodes_neighbours(signed_in: TestClient, seeded: dict[str, str]) -> None:
    first = chart(signed_in, seeded["john"], hops="1")
    assert seeded["place"] not in node_ids(first)
    grown = chart(signed_in, seeded["john"], hops="1", expand=seeded["crime"])
    assert grown["expanded"] == seeded["crime"]
    assert node_ids(grown) == {seeded["crime"], seeded["john"], seeded["place"]}
    assert [n["id"] for n in grown["nodes"] if n["start"]] == [seeded["john"]]  # the chart's start
    assert {e["type"] for e in grown["edges"]} == {"SUSPECT", "OCCURRED_AT"}
    missing = signed_in.get(f"/ui/network/{seeded['john']}/graph.json", params={"expand": "no-such-id"})
    assert missing.status_code == 404 and missing.json()["nodes"] == []


def test_graphml_download_parses_and_holds_the_chart(signed_in: TestClient, seeded: dict[str, str]) -> None:
    response = signed_in.get(f"/ui/network/{seeded['john']}/graphml", params={"hops": "2"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/graphml+xml")
    assert response.headers["content-disposition"].startswith('attachment; filename="network-')
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{net.GRAPHML_NS}}}graphml"
    keys = {(k.get("for"), k.get("attr.name")) for k in root.findall("g:key", NS)}
    assert {("node", "label"), ("node", "entity_type"), ("edge", "link_type"), ("edge", "valid_from")} <= keys
    nodes = {n.get("id"): n for n in root.findall("g:graph/g:node", NS)}
    assert set(nodes) == set(seeded.values())
    car = {d.get("key"): d.text for d in nodes[seeded["car"]].findall("g:data", NS)}
    assert car["entity_type"] == "vehicle" and "AB12CDE" in car["label"] and car["start"] == "false"
    edges = root.findall("g:graph/g:edge", NS)
    assert len(edges) == 4 and all(e.get("source") in nodes and e.get("target") in nodes for e in edges)
    keeper = next(e for e in edges if e.find("g:data[@key='link_type']", NS).text == "KEEPER_OF")
    assert keeper.find("g:data[@key='valid_from']", NS).text == "2017-01-01"


def test_the_node_cap_is_said(
    signed_in: TestClient, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(net, "MAX_NODES", 3)
    body = chart(signed_in, seeded["john"])
    assert len(body["nodes"]) == 3 and body["capped"] is True
    page = signed_in.get(f"/ui/network/{seeded['john']}")
    assert page.status_code == 200 and 'id="network-capped"' in page.text


def test_a_retracted_link_is_not_followed(
    signed_in: TestClient, seeded: dict[str, str], db: Database
) -> None:
    with db.write() as conn:
        [keeper] = links_of(conn, [seeded["car"]], Unrestricted())
        update_link(conn, keeper["id"], keeper["version"], recorded_by="PC 1", deleted=True, reason="error")
    assert seeded["car"] not in node_ids(chart(signed_in, seeded["john"], hops="4"))
    assert node_ids(chart(signed_in, seeded["car"], hops="4")) == {seeded["car"]}


# ---------------------------------------------------------------------------------------------------------
# access control and audit
# ---------------------------------------------------------------------------------------------------------


def test_hidden_records_are_404_and_never_neighbours(
    signed_in: TestClient, seeded: dict[str, str], db: Database
) -> None:
    secret = add(db, "person", {"forenames": "Covert", "surname": "Source"}, "s1", classification="SECRET")
    link(db, "WITNESS", secret, seeded["crime"], "s1-k")
    nyp_person = add(db, "person", {"forenames": "Nora", "surname": "York"}, "n1", agency="NYP")
    link(db, "VICTIM", nyp_person, seeded["crime"], "n1-k", agency="NYP")
    nyp_car = add(db, "vehicle", {"vrm": "YK99ZZZ"}, "n2", agency="NYP")
    link(db, "USED_IN", nyp_car, seeded["crime"], "n2-k", agency="NYP")
    hidden = (secret, nyp_person, nyp_car)

    page = signed_in.get(f"/ui/network/{seeded['crime']}", params={"hops": "4"})
    body = chart(signed_in, seeded["crime"], hops="4")
    download = signed_in.get(f"/ui/network/{seeded['crime']}/graphml", params={"hops": "4"})
    assert node_ids(body) == set(seeded.values())
    for text in (page.text, str(body), download.text):
        assert not any(h in text for h in hidden)
        assert "Covert" not in text and "York" not in text and "YK99ZZZ" not in text

    for record_id in hidden:
        for suffix in ("", "/graphml"):
            nothing = signed_in.get(f"/ui/network/no-such-record{suffix}")
            response = signed_in.get(f"/ui/network/{record_id}{suffix}")
            assert response.status_code == nothing.status_code == 404
            assert response.text.replace(record_id, "X") == nothing.text.replace("no-such-record", "X")
        data = signed_in.get(f"/ui/network/{record_id}/graph.json")
        assert data.status_code == 404 and data.json()["nodes"] == []
        expand = signed_in.get(f"/ui/network/{seeded['crime']}/graph.json", params={"expand": record_id})
        assert expand.status_code == 404 and record_id not in str(expand.json()["nodes"])


def test_another_agency_sees_its_own_chart_only(
    client: TestClient, auth: str, seeded: dict[str, str], db: Database
) -> None:
    nyp_person = add(db, "person", {"forenames": "Nora", "surname": "York"}, "n1", agency="NYP")
    link(db, "VICTIM", nyp_person, seeded["crime"], "n1-k", agency="NYP")
    nyp = officer_of(db, "nyp.officer", "NYP")
    with nyp:
        assert nyp.get(f"/ui/network/{seeded['crime']}").status_code == 404
        own = chart(nyp, nyp_person, hops="4")
        assert node_ids(own) == {nyp_person} and own["edges"] == []
    sign_in(client)
    assert nyp_person not in node_ids(chart(client, seeded["crime"], hops="4"))


def test_the_chart_is_audited_with_purpose_and_the_records_shown(
    signed_in: TestClient, seeded: dict[str, str], db: Database
) -> None:
    signed_in.get(f"/ui/network/{seeded['john']}", params={"hops": "1", "type": ["SUSPECT", "SAME_ENTITY"]})
    chart(signed_in, seeded["john"], hops="1", expand=seeded["crime"])
    signed_in.get(f"/ui/network/{seeded['john']}/graphml")
    with db.read() as conn:
        entries = [e for e in audit.by_user(conn, USERNAME) if e["detail"].get("view") == "network"]
    assert [e["detail"]["part"] for e in entries] == ["graphml", "expand", "page"]  # newest first
    download, expand, page = entries
    assert page["action"] == "read-links"
    assert page["record_ids"] == sorted([seeded["john"], seeded["johnny"], seeded["crime"]])
    assert page["purpose"] == "investigation" and page["reason"] == "Op TEST"
    assert page["detail"]["start"] == seeded["john"] and page["detail"]["nodes"] == 3
    assert page["detail"]["filters"] == {"hops": 1, "link_types": ["SAME_ENTITY", "SUSPECT"]}
    assert expand["detail"]["expand"] == seeded["crime"] and seeded["place"] in expand["record_ids"]
    assert set(download["record_ids"]) == set(seeded.values())


def test_without_a_reason_the_chart_asks_for_one(
    client: TestClient, auth: str, seeded: dict[str, str]
) -> None:
    sign_in(client, reason="")
    asked = client.get(f"/ui/network/{seeded['john']}")
    assert asked.status_code == 403 and "Why are you drawing this network?" in asked.text
    assert seeded["crime"] not in asked.text
    refused = client.get(f"/ui/network/{seeded['john']}/graph.json")
    assert (
        refused.status_code == 403 and refused.json()["nodes"] == [] and "reason" in refused.json()["error"]
    )


def test_signed_out_goes_to_sign_in(client: TestClient, seeded: dict[str, str]) -> None:
    response = client.get(f"/ui/network/{seeded['john']}")
    assert response.status_code == 303 and "/ui/sign-in" in response.headers["location"]


# ---------------------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"hops": "9"}, "hops", "from 1 to 4"),
        ({"hops": "0"}, "hops", "from 1 to 4"),
        ({"hops": "abc"}, "hops", "whole number"),
        ({"from": "2018-13-45"}, "from", "Date from"),
        ({"to": "last week"}, "to", "Date to"),
        ({"from": "2019-01", "to": "2018-12"}, "from", "is after"),
        ({"type": "NOT_A_LINK"}, "type-0", "choose link types from the list"),
    ],
)
def test_bad_filters_are_a_400_with_a_message(
    signed_in: TestClient, seeded: dict[str, str], params: dict[str, str], field: str, words: str
) -> None:
    page = signed_in.get(f"/ui/network/{seeded['john']}", params=params)
    assert page.status_code == 400
    assert "<title>Error: Link chart" in page.text and 'class="govuk-error-summary"' in page.text
    assert f'<a href="#{field}">' in page.text and f'id="{field}-error"' in page.text and words in page.text
    assert seeded["crime"] not in page.text
    data = signed_in.get(f"/ui/network/{seeded['john']}/graph.json", params=params)
    assert data.status_code == 400 and words in data.json()["error"] and data.json()["nodes"] == []
    download = signed_in.get(f"/ui/network/{seeded['john']}/graphml", params=params)
    assert download.status_code == 400 and words in download.text


def test_parse_filters_accepts_good_input() -> None:
    filters, errors = net.parse_filters(" 3 ", ["SUSPECT", ""], "2018-07", "14/07/2018")
    assert errors == {}
    assert filters == net.Filters(3, frozenset({"SUSPECT"}), "2018-07", "2018-07-14")


@pytest.mark.parametrize(
    ("link", "window", "inside"),
    [
        ({"valid_from": "2018-07-14", "valid_to": None, "created": "2024-01-01"}, ("2018-07", None), True),
        (
            {"valid_from": "2018-07-14", "valid_to": "2018-08-01", "created": "2024-01-01"},
            ("2018-09", None),
            False,
        ),
        ({"valid_from": None, "valid_to": "2018-08-01", "created": "2024-01-01"}, (None, "2018-01"), True),
        ({"valid_from": "2019", "valid_to": None, "created": "2024-01-01"}, (None, "2018-12-31"), False),
        ({"valid_from": None, "valid_to": None, "created": "2024-01-01"}, ("2024-01-01", "2024-01"), True),
        ({"valid_from": None, "valid_to": None, "created": "2024-01-01"}, ("2024-02", None), False),
    ],
)
def test_date_window_overlap(
    link: dict[str, Any], window: tuple[str | None, str | None], inside: bool
) -> None:
    filters = net.Filters(date_from=window[0], date_to=window[1])
    assert net.in_window(link, filters) is inside
