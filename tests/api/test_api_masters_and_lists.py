"""Master views and the filtered, paginated record list, over HTTP."""

from __future__ import annotations

import pytest

JOHN = {
    "forenames": "John",
    "surname": "Smith",
    "date_of_birth": "1985-03-02",
    "gender": "M",
    "pnc_id": "2001/0123456F",
}


def test_master_view_of_a_new_person(api):
    person = api.create("person", JOHN, source_key="P1")
    crime = api.create("crime", {"crime_type": "BURGLARY", "reference": "13/1/18"})
    link = api.link("SUSPECT", person["id"], crime["id"])
    response = api.client.get(f"/masters/{person['master_id']}")
    assert response.status_code == 200, response.text
    master = response.json()
    assert master["id"] == person["master_id"]
    assert master["entity_type"] == "person"
    assert master["status"] == "active" and master["merged_into"] is None
    assert master["title"] == "John Smith 1985-03-02"
    assert [r["id"] for r in master["records"]] == [person["id"]]
    assert master["records"][0]["data"] == JOHN
    assert master["records"][0]["provenance"]["source_key"] == "P1"
    assert set(master["golden"]) == set(JOHN)
    for name, value in JOHN.items():
        chosen = master["golden"][name]
        assert (chosen["value"], chosen["record_id"], chosen["agency"]) == (value, person["id"], "WYP")
        assert chosen["source_system"] == "NICHE"
        assert chosen["rule"] in ("most_trusted", "most_recent", "most_frequent")
    assert [(lk["id"], lk["link_type"], lk["from_id"], lk["to_id"]) for lk in master["links"]] == [
        (link["id"], "SUSPECT", person["id"], crime["id"])
    ]


def test_master_golden_view_follows_the_latest_version(api):
    person = api.create("person", JOHN)
    api.client.patch(
        f"/records/{person['id']}",
        json={"version": 1, "recorded_by": "PC 2", "data": {"surname": "Smyth", "pnc_id": None}},
    )
    master = api.client.get(f"/masters/{person['master_id']}").json()
    assert master["golden"]["surname"]["value"] == "Smyth"
    assert "pnc_id" not in master["golden"]


def test_a_record_starts_as_its_own_master_and_a_duplicate_joins_it(api):
    first = api.create("person", JOHN)
    master = api.client.get(f"/masters/{first['master_id']}").json()
    assert [r["id"] for r in master["records"]] == [first["id"]]
    other = api.create("person", {"surname": "Jones", "forenames": "Mary", "date_of_birth": "1990-01-02"})
    assert other["master_id"] != first["master_id"]
    again = api.create("person", JOHN)  # the same person keyed again: the master index joins it
    assert again["master_id"] == first["master_id"]
    assert api.client.get(f"/records/{again['id']}").json()["master_id"] == first["master_id"]
    master = api.client.get(f"/masters/{first['master_id']}").json()
    assert sorted(r["id"] for r in master["records"]) == sorted([first["id"], again["id"]])


def test_unknown_master_is_a_404_problem(api):
    body = api.problem(api.client.get("/masters/" + "0" * 24), 404)
    assert "0" * 24 in body["detail"]


def test_master_of_a_retracted_record_is_not_found(api):
    person = api.create("person", JOHN)
    api.client.post(f"/records/{person['id']}/retract", json={"recorded_by": "PC 3", "reason": "duplicate"})
    api.problem(api.client.get(f"/masters/{person['master_id']}"), 404)


@pytest.fixture
def mixed(api):
    """Records of several types, agencies and systems."""
    return {
        "wyp_person": api.create("person", {"surname": "Smith", "forenames": "John"})["id"],
        "nyp_person": api.create("person", {"surname": "Jones"}, agency="NYP")["id"],
        "athena_person": api.create("person", {"surname": "Brown"}, source_system="ATHENA")["id"],
        "leeds": api.create("address", {"street": "Park Row", "postcode": "LS1 4AP"})["id"],
        "york": api.create("address", {"street": "Blake St", "postcode": "YO1 8QG"}, agency="NYP")["id"],
        "burglary": api.create("crime", {"crime_type": "BURGLARY"})["id"],
        "robbery": api.create("crime", {"crime_type": "ROBBERY", "hate_crime": True})["id"],
        "car": api.create("vehicle", {"vrm": "AB12CDE", "year_of_manufacture": 2015})["id"],
    }


def _ids(api, **params):
    return {r["id"] for r in api.list_all(**params)}


def test_list_without_filters_returns_everything_in_id_order(api, mixed):
    response = api.client.get("/records")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [r["id"] for r in items] == sorted(mixed.values())
    assert response.json()["next_after"] is None
    sample = items[0]
    assert {"id", "entity_type", "category", "title", "version", "data", "provenance", "master_id"} <= set(
        sample
    )


def test_list_filters_by_entity_type_agency_and_source_system(api, mixed):
    assert _ids(api, entity_type="person") == {
        mixed["wyp_person"],
        mixed["nyp_person"],
        mixed["athena_person"],
    }
    assert _ids(api, agency="NYP") == {mixed["nyp_person"], mixed["york"]}
    assert _ids(api, agency="nyp") == {mixed["nyp_person"], mixed["york"]}
    assert _ids(api, source_system="ATHENA") == {mixed["athena_person"]}
    assert _ids(api, entity_type="address", agency="WYP") == {mixed["leeds"]}
    assert _ids(api, entity_type="weapon") == set()


def test_list_filters_by_master(api, mixed):
    master_id = api.get(mixed["leeds"])["master_id"]
    assert _ids(api, master_id=master_id) == {mixed["leeds"]}


@pytest.mark.parametrize(
    ("entity_type", "field", "value", "key"),
    [
        ("address", "postcode", "ls14ap", "leeds"),
        ("address", "postcode", "LS1 4AP", "leeds"),
        ("vehicle", "vrm", "ab12 cde", "car"),
        ("vehicle", "year_of_manufacture", "2015", "car"),
        ("crime", "crime_type", "Burglary", "burglary"),
        ("crime", "hate_crime", "yes", "robbery"),
        ("person", "surname", "Jones", "nyp_person"),
        ("person", "forenames", "John", "wyp_person"),
    ],
)
def test_list_filters_on_a_field_value_normalised_first(api, mixed, entity_type, field, value, key):
    assert _ids(api, entity_type=entity_type, **{f"field.{field}": value}) == {mixed[key]}


def test_field_filters_combine(api, mixed):
    assert _ids(api, entity_type="address", agency="NYP", **{"field.postcode": "ls14ap"}) == set()
    assert _ids(api, entity_type="address", **{"field.postcode": "YO18QG", "field.street": "Blake St"}) == {
        mixed["york"]
    }


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"entity_type": "person", "field.shoe_size": "9"}, "shoe_size"),
        ({"field.surname": "Smith"}, "entity type"),
        ({"entity_type": "person", "field.aliases": "Jo"}, "aliases"),
        ({"entity_type": "address", "field.postcode": "not a postcode"}, "postcode"),
        ({"entity_type": "crime", "field.crime_type": "Jaywalking"}, "crime_type"),
        ({"entity_type": "unicorn"}, "unicorn"),
        ({"surname": "Smith"}, "surname"),
        ({"entity_type": "person", "sort": "surname"}, "sort"),
    ],
)
def test_bad_list_filters_are_400_problems(api, mixed, params, needle):
    body = api.problem(api.client.get("/records", params=params), 400)
    assert needle in body["detail"]


def test_pagination_covers_every_record_exactly_once(api):
    created = [
        api.create("person", {"surname": "Smith", "forenames": f"Child {chr(65 + i % 26)}"})["id"]
        for i in range(25)
    ]
    api.create("address", {"street": "Park Row", "postcode": "LS1 4AP"})
    seen: list[str] = []
    pages = []
    after = None
    while True:
        params = {"entity_type": "person", "limit": 10, **({"after": after} if after else {})}
        body = api.client.get("/records", params=params).json()
        pages.append(len(body["items"]))
        seen += [r["id"] for r in body["items"]]
        after = body["next_after"]
        if after is None:
            break
        assert after == body["items"][-1]["id"]
    assert pages == [10, 10, 5]
    assert seen == sorted(created)
    assert len(set(seen)) == 25


def test_page_that_ends_exactly_at_the_last_record_has_no_next(api):
    for i in range(4):
        api.create("person", {"surname": "Smith", "occupation": f"job {i}"})
    first = api.client.get("/records", params={"limit": 2}).json()
    second = api.client.get("/records", params={"limit": 2, "after": first["next_after"]}).json()
    assert len(second["items"]) == 2
    assert second["next_after"] is None


def test_limit_above_the_maximum_is_refused(api):
    api.problem(api.client.get("/records", params={"limit": 100000}), 422)


def test_retracted_records_are_listed_only_on_request(api, mixed):
    api.client.post(f"/records/{mixed['leeds']}/retract", json={"recorded_by": "PC 3", "reason": "duplicate"})
    assert mixed["leeds"] not in _ids(api)
    assert mixed["leeds"] not in _ids(api, entity_type="address", **{"field.postcode": "ls14ap"})
    listed = {r["id"]: r for r in api.list_all(include_deleted=True)}
    assert listed[mixed["leeds"]]["deleted"] is True
    assert set(listed) == set(mixed.values())
