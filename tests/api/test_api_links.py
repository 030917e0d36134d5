"""Links over HTTP: typed ends, validity dates, reading from either end, new versions and retraction."""

from __future__ import annotations

import pytest

from openrms.schema import registry


@pytest.fixture
def pole(api):
    """A person, a crime, an address and a vehicle, by entity type."""
    return {
        "person": api.create(
            "person", {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02", "gender": "M"}
        )["id"],
        "crime": api.create("crime", {"crime_type": "BURGLARY", "reference": "13/1234/18"})["id"],
        "address": api.create("address", {"street": "Park Row", "postcode": "LS1 4AP"})["id"],
        "vehicle": api.create("vehicle", {"vrm": "AB12CDE"})["id"],
    }


def test_suspect_link_is_created_and_readable(api, pole):
    response = api.client.post(
        "/links",
        json={
            "link_type": "SUSPECT",
            "from_id": pole["person"],
            "to_id": pole["crime"],
            "valid_from": "2018-07-01",
            "data": {"note": "seen on CCTV"},
            "provenance": {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1"},
        },
    )
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert (outcome["status"], outcome["version"]) == ("created", 1)
    assert len(outcome["id"]) == 24
    assert response.headers["location"] == f"/links/{outcome['id']}"
    link = api.client.get(response.headers["location"]).json()
    assert (link["link_type"], link["from_id"], link["to_id"]) == ("SUSPECT", pole["person"], pole["crime"])
    assert link["label"] == registry().link_types["SUSPECT"].label
    assert link["valid_from"] == "2018-07-01" and link["valid_to"] is None
    assert link["data"] == {"note": "seen on CCTV"}
    assert link["deleted"] is False and link["version"] == 1
    assert link["provenance"]["agency"] == "WYP"


def test_link_is_listed_from_either_end(api, pole):
    link = api.link("SUSPECT", pole["person"], pole["crime"])
    for end in ("person", "crime"):
        listed = api.links_of(pole[end])
        assert [(lk["id"], lk["from_id"], lk["to_id"]) for lk in listed] == [
            (link["id"], pole["person"], pole["crime"])
        ], end
    assert api.links_of(pole["address"]) == []


def test_links_of_a_record_filter_by_type(api, pole):
    api.link("SUSPECT", pole["person"], pole["crime"])
    api.link("RESIDES_AT", pole["person"], pole["address"])
    response = api.client.get(f"/records/{pole['person']}/links", params={"link_type": "RESIDES_AT"})
    assert [lk["link_type"] for lk in response.json()["links"]] == ["RESIDES_AT"]
    assert len(api.links_of(pole["person"])) == 2
    api.problem(api.client.get(f"/records/{pole['person']}/links", params={"link_type": "NOPE"}), 400)


def test_a_link_completes_the_four_plus_one_and_clears_orphan_flags(api, pole):
    flags = {q["code"] for q in api.get(pole["person"])["quality"]}
    assert {"orphan", "person_four_plus_one"} <= flags
    api.link("RESIDES_AT", pole["person"], pole["address"])
    assert api.get(pole["person"])["quality"] == []
    assert api.get(pole["address"])["quality"] == []


def test_wrong_end_types_are_a_422_naming_the_allowed_types(api, pole):
    response = api.client.post(
        "/links",
        json={
            "link_type": "RESIDES_AT",
            "from_id": pole["crime"],
            "to_id": pole["person"],
            "provenance": _prov(),
        },
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"from_id", "to_id"}
    messages = {i["path"]: i["message"] for i in body["issues"]}
    assert "person" in messages["from_id"]
    assert "address" in messages["to_id"] and "no_fixed_abode" in messages["to_id"]
    assert api.links_of(pole["person"]) == [] and api.links_of(pole["crime"]) == []


def test_category_ends_are_expanded(api, pole):
    api.link("OCCURRED_AT", pole["crime"], pole["address"])
    api.link("USED_IN", pole["vehicle"], pole["crime"])
    body = api.problem(
        api.client.post(
            "/links",
            json={
                "link_type": "OCCURRED_AT",
                "from_id": pole["vehicle"],
                "to_id": pole["address"],
                "provenance": _prov(),
            },
        ),
        422,
    )
    assert "crime" in body["detail"]


def test_unknown_link_type_is_a_422(api, pole):
    response = api.client.post(
        "/links",
        json={
            "link_type": "BEST_FRIEND",
            "from_id": pole["person"],
            "to_id": pole["crime"],
            "provenance": _prov(),
        },
    )
    body = api.problem(response, 422)
    assert "link_type" in api.issue_paths(body)
    assert "SUSPECT" in body["detail"]


def test_link_to_a_missing_record_is_a_404_like_a_hidden_one(api, pole):
    missing = "f" * 24
    response = api.client.post(
        "/links",
        json={"link_type": "SUSPECT", "from_id": pole["person"], "to_id": missing, "provenance": _prov()},
    )
    body = api.problem(response, 404)
    assert missing in body["detail"]
    assert api.links_of(pole["person"]) == []


def test_record_cannot_be_linked_to_itself(api, pole):
    other = api.create("person", {"surname": "Jones"})["id"]
    api.link("ASSOCIATE_OF", pole["person"], other)
    body = api.problem(
        api.client.post(
            "/links",
            json={
                "link_type": "ASSOCIATE_OF",
                "from_id": pole["person"],
                "to_id": pole["person"],
                "provenance": _prov(),
            },
        ),
        422,
    )
    assert "to_id" in api.issue_paths(body)


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [
        ("2020-02-01", "2020-01-31"),
        ("2020", "2019"),
        ("2020-06", "2020-05-31"),
        ("2020-01-01T10:00:00Z", "2020-01-01T09:59:59Z"),
    ],
)
def test_valid_to_before_valid_from_is_a_422(api, pole, valid_from, valid_to):
    response = api.client.post(
        "/links",
        json={
            "link_type": "RESIDES_AT",
            "from_id": pole["person"],
            "to_id": pole["address"],
            "valid_from": valid_from,
            "valid_to": valid_to,
            "provenance": _prov(),
        },
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"valid_to"}
    assert api.links_of(pole["person"]) == []


@pytest.mark.parametrize("when", ["2020-13", "2020-02-30", "next week", "1700"])
def test_bad_validity_date_is_a_422(api, pole, when):
    response = api.client.post(
        "/links",
        json={
            "link_type": "RESIDES_AT",
            "from_id": pole["person"],
            "to_id": pole["address"],
            "valid_from": when,
            "provenance": _prov(),
        },
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"valid_from"}


def test_validity_dates_are_normalised(api, pole):
    link = api.link(
        "RESIDES_AT", pole["person"], pole["address"], valid_from="2020-1", valid_to="2021-06-30 12:00"
    )
    stored = api.client.get(f"/links/{link['id']}").json()
    assert stored["valid_from"] == "2020-01"
    assert stored["valid_to"] == "2021-06-30T11:00:00Z"


def test_a_date_is_not_before_a_time_on_that_same_day(api, pole):
    """valid_to "2020-05-03" (the whole day) does not end before valid_from 10:00 that day."""
    response = api.client.post(
        "/links",
        json={
            "link_type": "RESIDES_AT",
            "from_id": pole["person"],
            "to_id": pole["address"],
            "valid_from": "2020-05-03T10:00:00Z",
            "valid_to": "2020-05-03",
            "provenance": _prov(),
        },
    )
    assert response.status_code == 201, response.text


def test_same_link_posted_again_is_unchanged(api, pole):
    first = api.link("SUSPECT", pole["person"], pole["crime"], provenance={"source_key": "L1"})
    again = api.link("SUSPECT", pole["person"], pole["crime"], provenance={"source_key": "L1"})
    assert again == {"id": first["id"], "status": "unchanged", "version": 1}
    changed = api.link(
        "SUSPECT", pole["person"], pole["crime"], provenance={"source_key": "L1"}, valid_from="2018"
    )
    assert (changed["id"], changed["status"], changed["version"]) == (first["id"], "updated", 2)
    assert len(api.links_of(pole["person"])) == 1


def test_put_link_writes_a_new_version(api, pole):
    link = api.link("RESIDES_AT", pole["person"], pole["address"], valid_from="2019")
    response = api.client.put(
        f"/links/{link['id']}", json={"version": 1, "recorded_by": "PC 2", "valid_to": "2020-03"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"id": link["id"], "status": "updated", "version": 2}
    current = api.client.get(f"/links/{link['id']}").json()
    assert (current["valid_from"], current["valid_to"], current["version"]) == ("2019", "2020-03", 2)
    versions = api.client.get(f"/links/{link['id']}/history").json()["versions"]
    assert [(v["version"], v["valid_to"]) for v in versions] == [(1, None), (2, "2020-03")]


def test_put_link_checks_its_dates(api, pole):
    link = api.link("RESIDES_AT", pole["person"], pole["address"], valid_from="2019")
    body = api.problem(
        api.client.put(
            f"/links/{link['id']}", json={"version": 1, "recorded_by": "PC 2", "valid_to": "2018"}
        ),
        422,
    )
    assert api.issue_paths(body) == {"valid_to"}
    assert api.client.get(f"/links/{link['id']}").json()["version"] == 1


def test_retracting_a_link_hides_it_and_keeps_its_history(api, pole):
    link = api.link("SUSPECT", pole["person"], pole["crime"])
    response = api.client.put(
        f"/links/{link['id']}",
        json={"version": 1, "recorded_by": "PC 2", "deleted": True, "reason": "wrong person"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert api.links_of(pole["person"]) == []
    assert api.links_of(pole["crime"]) == []
    assert api.client.get(f"/links/{link['id']}").json()["deleted"] is True
    versions = api.client.get(f"/links/{link['id']}/history").json()["versions"]
    assert [(v["version"], v["deleted"]) for v in versions] == [(1, False), (2, True)]
    assert "orphan" in {q["code"] for q in api.get(pole["crime"])["quality"]}


def test_put_link_with_deleted_false_restores_it(api, pole):
    link = api.link("SUSPECT", pole["person"], pole["crime"])
    api.client.put(f"/links/{link['id']}", json={"version": 1, "recorded_by": "PC 2", "deleted": True})
    assert api.links_of(pole["person"]) == []
    response = api.client.put(
        f"/links/{link['id']}", json={"version": 2, "recorded_by": "PC 3", "deleted": False}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 3
    assert [lk["id"] for lk in api.links_of(pole["person"])] == [link["id"]]
    versions = api.client.get(f"/links/{link['id']}/history").json()["versions"]
    assert [v["deleted"] for v in versions] == [False, True, False]


def test_put_link_without_deleted_keeps_a_retraction(api, pole):
    link = api.link("SUSPECT", pole["person"], pole["crime"])
    api.client.put(f"/links/{link['id']}", json={"version": 1, "recorded_by": "PC 2", "deleted": True})
    response = api.client.put(
        f"/links/{link['id']}", json={"version": 2, "recorded_by": "PC 3", "valid_from": "2018"}
    )
    assert response.status_code == 200, response.text
    assert api.client.get(f"/links/{link['id']}").json()["deleted"] is True
    assert api.links_of(pole["person"]) == []


def test_retracted_link_posted_again_is_restored(api, pole):
    """Re-sending a retracted link (same source key) revives it, as re-sending a retracted record does."""
    link = api.link("SUSPECT", pole["person"], pole["crime"], provenance={"source_key": "L7"})
    api.client.put(f"/links/{link['id']}", json={"version": 1, "recorded_by": "PC 2", "deleted": True})
    again = api.link("SUSPECT", pole["person"], pole["crime"], provenance={"source_key": "L7"})
    assert again["id"] == link["id"]
    assert api.client.get(f"/links/{link['id']}").json()["deleted"] is False, again
    assert [lk["id"] for lk in api.links_of(pole["person"])] == [link["id"]]


def test_stale_link_update_is_a_409_and_loses_nothing(api, pole):
    link = api.link("RESIDES_AT", pole["person"], pole["address"], valid_from="2019")
    first = api.client.get(f"/links/{link['id']}").json()
    second = api.client.get(f"/links/{link['id']}").json()
    ok = api.client.put(
        f"/links/{link['id']}",
        json={"version": first["version"], "recorded_by": "PC 2", "valid_to": "2020-03"},
    )
    assert ok.status_code == 200, ok.text
    stale = api.client.put(
        f"/links/{link['id']}", json={"version": second["version"], "recorded_by": "PC 3", "deleted": True}
    )
    body = api.problem(stale, 409)
    assert body["current_version"] == 2
    current = api.client.get(f"/links/{link['id']}").json()
    assert (current["version"], current["valid_to"], current["deleted"]) == (2, "2020-03", False)
    assert len(api.client.get(f"/links/{link['id']}/history").json()["versions"]) == 2


def test_update_of_a_missing_link_is_a_404(api):
    api.problem(api.client.put("/links/" + "0" * 24, json={"version": 1, "recorded_by": "PC 2"}), 404)
    api.problem(api.client.get("/links/" + "0" * 24 + "/history"), 404)


def test_link_body_is_checked(api, pole):
    body = api.problem(
        api.client.post("/links", json={"link_type": "SUSPECT", "from_id": pole["person"]}), 422
    )
    assert {"to_id", "provenance"} <= api.issue_paths(body)


def _prov() -> dict[str, str]:
    return {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1"}
