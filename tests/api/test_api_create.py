"""Creating records over HTTP: every entity type, normalisation, validation failures, warnings, duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from openrms.schema import FieldDef, registry

ENTITY_TYPES = sorted(registry().entity_types)

# Canonical sample values per field type: stored unchanged, so a round trip must give them back exactly.
_SAMPLES: dict[str, Any] = {
    "text": "Sample text",
    "name": "Smith",
    "datetime": "2020-01-01T10:00:00Z",
    "date": "2020-01-01",
    "partial_date": "2020-01",
    "phone": "+441132345678",
    "email": "someone@example.com",
    "postcode": "LS1 4AP",
    "vrm": "AB12CDE",
    "boolean": True,
}

# What the rules need beyond the required fields (or a field to round-trip when nothing is required).
_RULE_NEEDS: dict[str, dict[str, Any]] = {
    "point": {"latitude": 53.8, "longitude": -1.55},
    "address": {"street": "Park Row", "postcode": "LS1 4AP"},
    "crime": {"crime_type": "BURGLARY"},
    "intelligence_report": {"handling_code": "P"},
    "custody": {"relevant_time": "2020-01-01T10:00:00Z", "released_at": "2020-01-01T20:00:00Z"},
    "vehicle": {"vrm": "AB12CDE"},
    "person": {"surname": "Smith", "forenames": "John", "date_of_birth": "1985-03-02", "gender": "M"},
    "anti_social_behaviour": {"asb_category": "NUISANCE"},
    "no_fixed_abode": {"town": "Leeds"},
}


def _sample(fdef: FieldDef) -> Any:
    if fdef.type == "code":
        value: Any = next(iter(registry().codelists[fdef.codelist].codes))
    elif fdef.type == "object":
        value = {f.name: _sample(f) for f in fdef.fields.values() if f.required}
    elif fdef.type in _SAMPLES:
        value = _SAMPLES[fdef.type]
    else:
        raise AssertionError(f"no sample value for required field type {fdef.type!r}: extend _SAMPLES")
    return [value] if fdef.many else value


def minimal_data(entity_type: str) -> dict[str, Any]:
    """The registry's required fields for `entity_type`, plus what its rules need."""
    etype = registry().entity(entity_type)
    data = {f.name: _sample(f) for f in etype.fields.values() if f.required}
    data.update(_RULE_NEEDS.get(entity_type, {}))
    return data


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_create_every_entity_type_with_minimal_valid_data(api, entity_type):
    data = minimal_data(entity_type)
    response = api.client.post(
        f"/records/{entity_type}",
        json={
            "data": data,
            "provenance": {
                "agency": "wyp",
                "source_system": "NICHE",
                "recorded_by": "PC 1234",
                "source_key": f"{entity_type}-1",
            },
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "created"
    assert created["version"] == 1
    assert created["entity_type"] == entity_type
    assert len(created["id"]) == 24 and int(created["id"], 16) >= 0
    assert len(created["master_id"]) == 24
    assert all(w["severity"] == "warning" for w in created["warnings"])
    assert response.headers["location"] == f"/records/{created['id']}"

    record = api.client.get(response.headers["location"]).json()
    assert record["id"] == created["id"]
    assert record["entity_type"] == entity_type
    assert record["category"] == registry().entity(entity_type).category
    assert record["data"] == data
    assert record["version"] == record["current_version"] == 1
    assert record["deleted"] is False
    assert record["master_id"] == created["master_id"]
    prov = record["provenance"]
    assert (prov["agency"], prov["source_system"], prov["source_key"]) == ("WYP", "NICHE", f"{entity_type}-1")
    assert prov["recorded_by"] == prov["created_by"] == "PC 1234"
    assert prov["classification"] == "OFFICIAL" and prov["handling"] == "P"
    assert [i["id"] for i in api.list_all(entity_type=entity_type)] == [created["id"]]


def test_ids_are_derived_from_type_agency_system_and_key(api):
    first = api.create("person", {"surname": "Smith"}, source_key="K1")
    again_elsewhere = api.create("person", {"surname": "Smith"}, source_key="K1", agency="NYP")
    other_system = api.create("person", {"surname": "Smith"}, source_key="K1", source_system="ATHENA")
    other_type = api.create("organisation", {"name": "Acme Ltd"}, source_key="K1")
    ids = {first["id"], again_elsewhere["id"], other_system["id"], other_type["id"]}
    assert len(ids) == 4


@pytest.mark.parametrize(
    ("entity_type", "given", "stored"),
    [
        (
            "address",
            {"street": "Park Row", "postcode": "ls14ap"},
            {"street": "Park Row", "postcode": "LS1 4AP"},
        ),
        ("vehicle", {"vrm": "ab12 cde", "colour": "Red"}, {"vrm": "AB12CDE", "colour": "RED"}),
        ("telephone", {"number": "0113 234 5678"}, {"number": "+441132345678"}),
        (
            "incident",
            {"incident_type": "MISSING_PERSON", "missing_risk": "high", "recording_officer": "PC 1234"},
            {"incident_type": "MISSING_PERSON", "missing_risk": "HIGH", "recording_officer": "PC 1234"},
        ),
        (
            "crime",
            {"crime_type": "Burglary", "hate_crime": "yes", "hate_strands": ["race", "RACE"]},
            {"crime_type": "BURGLARY", "hate_crime": True, "hate_strands": ["RACE"]},
        ),
        (
            "person",
            {"surname": "  O’Brien ", "pnc_id": "01/123456f", "date_of_birth": "02/03/1985", "gender": "m"},
            {"surname": "O'Brien", "pnc_id": "2001/0123456F", "date_of_birth": "1985-03-02", "gender": "M"},
        ),
        (
            "person",
            {"surname": "Smith", "cro_number": "123456/95k"},
            {"surname": "Smith", "cro_number": "123456/95K"},
        ),
        (
            "custody",
            {"relevant_time": "2018-07-01 14:45", "released_at": "2018-07-01T20:00:00+01:00"},
            {"relevant_time": "2018-07-01T13:45:00Z", "released_at": "2018-07-01T19:00:00Z"},
        ),
    ],
)
def test_values_are_stored_in_canonical_form(api, entity_type, given, stored):
    created = api.create(entity_type, given)
    assert api.get(created["id"])["data"] == stored


def test_canonical_values_are_unchanged_by_a_second_pass(api):
    created = api.create("address", {"street": "Park Row", "postcode": "ls14ap"})
    data = api.get(created["id"])["data"]
    again = api.client.put(
        f"/records/{created['id']}", json={"version": 1, "recorded_by": "PC 1", "data": data}
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "unchanged"


_INVALID: list[tuple[str, str, dict[str, Any], set[str]]] = [
    ("wrong PNC check letter", "person", {"surname": "Smith", "pnc_id": "2001/0123456A"}, {"pnc_id"}),
    (
        "future date of birth",
        "person",
        {"surname": "Smith", "date_of_birth": "2999-01-01"},
        {"date_of_birth"},
    ),
    (
        "death before birth",
        "person",
        {"surname": "Smith", "date_of_birth": "1990-05-01", "date_of_death": "1980-01-01"},
        {"date_of_death"},
    ),
    (
        "death before partial birth",
        "person",
        {"surname": "Smith", "date_of_birth": "1980", "date_of_death": "1979-05-01"},
        {"date_of_death"},
    ),
    ("unknown code", "person", {"surname": "Smith", "gender": "Q"}, {"gender"}),
    (
        "unknown code in a list",
        "person",
        {"surname": "Smith", "nationality": ["GBR", "Atlantis"]},
        {"nationality[1]"},
    ),
    ("name with digits", "person", {"surname": "Sm1th"}, {"surname"}),
    ("invalid postcode", "address", {"street": "Park Row", "postcode": "LS1 4A"}, {"postcode"}),
    ("address without street or postcode", "address", {"town": "Leeds"}, {"street"}),
    ("missing required field", "crime", {"summary": "Shed broken into"}, {"crime_type"}),
    (
        "hate strands without hate flag",
        "crime",
        {"crime_type": "BURGLARY", "hate_strands": ["RACE"]},
        {"hate_crime"},
    ),
    (
        "missing person risk on another incident type",
        "incident",
        {"incident_type": "DOMESTIC", "missing_risk": "HIGH"},
        {"missing_risk"},
    ),
    (
        "unknown missing person risk",
        "incident",
        {"incident_type": "MISSING_PERSON", "missing_risk": "SEVERE"},
        {"missing_risk"},
    ),
    (
        "handling code C without conditions",
        "intelligence_report",
        {"source_evaluation": "1", "intelligence_assessment": "A", "handling_code": "C"},
        {"handling_conditions"},
    ),
    (
        "custody extension beyond 36 hours",
        "custody",
        {
            "relevant_time": "2020-01-01T10:00:00Z",
            "extension_authorised_to": "2020-01-02T22:00:01Z",
            "released_at": "2020-01-02T12:00:00Z",
        },
        {"extension_authorised_to"},
    ),
    (
        "warrant beyond 96 hours",
        "custody",
        {
            "relevant_time": "2020-01-01T10:00:00Z",
            "warrant_of_further_detention_to": "2020-01-05T10:00:01Z",
            "released_at": "2020-01-02T12:00:00Z",
        },
        {"warrant_of_further_detention_to"},
    ),
    (
        "event ends before it starts",
        "crime",
        {
            "crime_type": "BURGLARY",
            "occurred_from": "2020-01-02T10:00:00Z",
            "occurred_to": "2020-01-01T10:00:00Z",
        },
        {"occurred_to"},
    ),
    ("latitude without longitude", "point", {"latitude": 53.8}, {"longitude"}),
    ("latitude out of range", "point", {"latitude": 91, "longitude": 0}, {"latitude"}),
    (
        "integer below minimum",
        "person",
        {"surname": "Smith", "physical_description": {"height_cm": 12}},
        {"physical_description.height_cm"},
    ),
    (
        "required sub-field missing",
        "custody",
        {
            "relevant_time": "2020-01-01T10:00:00Z",
            "released_at": "2020-01-01T12:00:00Z",
            "log": [{"entry": "x"}],
        },
        {"log[0].at"},
    ),
    ("text too long", "organisation", {"name": "x" * 201}, {"name"}),
]


@pytest.mark.parametrize(
    ("entity_type", "data", "paths"), [c[1:] for c in _INVALID], ids=[c[0] for c in _INVALID]
)
def test_invalid_record_is_a_422_naming_the_field_and_stores_nothing(api, entity_type, data, paths):
    response = api.client.post(
        f"/records/{entity_type}",
        json={"data": data, "provenance": {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1"}},
    )
    body = api.problem(response, 422)
    assert body["type"] == "/problems/validation-failed"
    assert paths <= api.issue_paths(body), body["issues"]
    for issue in body["issues"]:
        assert issue["message"] and issue["code"]
        if issue["severity"] == "error":
            assert issue["path"] in body["detail"]
    assert api.count(entity_type=entity_type) == 0
    assert api.count() == 0


def test_unknown_field_is_a_422_naming_it(api):
    response = api.client.post(
        "/records/person", json={"data": {"surname": "Smith", "shoe_size": 9}, "provenance": {**_prov()}}
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"shoe_size"}
    assert "shoe_size" in body["detail"]
    assert api.count() == 0


def test_unknown_nested_field_is_refused(api):
    response = api.client.post(
        "/records/person",
        json={
            "data": {"surname": "Smith", "physical_description": {"height_cm": 180, "wingspan": 3}},
            "provenance": _prov(),
        },
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"physical_description.wingspan"}
    assert api.count() == 0


def test_wrong_json_type_is_a_422_naming_the_field(api):
    response = api.client.post(
        "/records/person", json={"data": {"surname": ["Smith"]}, "provenance": _prov()}
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {"surname"}
    assert api.count() == 0


def test_several_errors_are_all_reported_at_once(api):
    response = api.client.post(
        "/records/person",
        json={
            "data": {
                "surname": "Sm1th",
                "pnc_id": "2001/0123456A",
                "date_of_birth": "2999-01-01",
                "gender": "ZZ",
                "nationality": ["Atlantis"],
                "physical_description": {"height_cm": 999},
            },
            "provenance": _prov(),
        },
    )
    body = api.problem(response, 422)
    assert api.issue_paths(body) == {
        "surname",
        "pnc_id",
        "date_of_birth",
        "gender",
        "nationality[0]",
        "physical_description.height_cm",
    }
    assert api.count() == 0


def test_request_shape_errors_are_all_reported_at_once(api):
    response = api.client.post(
        "/records/person",
        json={"data": {"surname": "Smith"}, "provenance": {"agency": "WYP", "handling": ["P"]}},
    )
    body = api.problem(response, 422)
    assert {"provenance.source_system", "provenance.handling"} <= api.issue_paths(body)
    assert api.count() == 0


def test_wrong_json_types_and_unknown_fields_are_all_reported_at_once(api):
    response = api.client.post(
        "/records/person",
        json={"data": {"surname": 1, "forenames": {"first": "John"}, "shoe": 9}, "provenance": _prov()},
    )
    body = api.problem(response, 422)
    assert {"surname", "forenames", "shoe"} <= api.issue_paths(body)
    assert api.count() == 0


def test_warnings_do_not_block_and_are_returned_and_kept(api):
    created = api.create("person", {"surname": "Smith"})
    assert created["status"] == "created"
    codes = {w["code"] for w in created["warnings"]}
    assert "person_four_plus_one" in codes
    assert all(w["severity"] == "warning" for w in created["warnings"])
    record = api.get(created["id"])
    assert "person_four_plus_one" in {w["code"] for w in record["warnings"]}
    assert "person_four_plus_one" in {q["code"] for q in record["quality"]}
    assert "orphan" in {q["code"] for q in record["quality"]}


def test_address_without_postcode_is_a_warning(api):
    created = api.create("address", {"street": "Park Row", "town": "Leeds"})
    assert [(w["code"], w["path"]) for w in created["warnings"]] == [("address_locatable", "postcode")]


def test_future_date_allowed_where_declared(api):
    expires = (dt.date.today() + dt.timedelta(days=3650)).isoformat()
    created = api.create(
        "identity_document", {"document_type": "PASSPORT", "number": "123456789", "expires_on": expires}
    )
    assert api.get(created["id"])["data"]["expires_on"] == expires


def test_same_source_key_twice_is_a_409_and_changes_nothing(api):
    first = api.create("person", {"surname": "Smith"}, source_key="NICHE-42")
    response = api.client.post(
        "/records/person", json={"data": {"surname": "Jones"}, "provenance": _prov(source_key="NICHE-42")}
    )
    body = api.problem(response, 409)
    assert "NICHE-42" in body["detail"]
    record = api.get(first["id"])
    assert record["data"] == {"surname": "Smith"}
    assert record["current_version"] == 1
    assert api.count() == 1


def test_same_source_key_in_another_agency_is_a_different_record(api):
    api.create("person", {"surname": "Smith"}, source_key="42")
    api.create("person", {"surname": "Smith"}, source_key="42", agency="NYP")
    assert api.count(entity_type="person") == 2


@pytest.mark.parametrize(
    ("provenance", "status"),
    [
        ({"agency": "W Y P!"}, 403),  # only your own agency (an empty one means yours)
        ({"handling": "X"}, 400),
        ({"handling": "C"}, 400),
        ({"classification": "SECRETISH"}, 400),
        ({"recorded_at": "2020-01-01T10:00:00"}, 400),
        ({"surprise": 1}, 422),
    ],
)
def test_bad_provenance_is_a_problem_and_stores_nothing(api, provenance, status):
    response = api.client.post(
        "/records/person", json={"data": {"surname": "Smith"}, "provenance": _prov(**provenance)}
    )
    api.problem(response, status)
    assert api.count() == 0


def test_provenance_markings_are_normalised(api):
    created = api.create(
        "person",
        {"surname": "Smith"},
        classification="restricted",
        handling="c",
        handling_conditions="Not to be shared outside WYP",
        agency="wyp",
    )
    prov = api.get(created["id"])["provenance"]
    assert prov["classification"] == "OFFICIAL-SENSITIVE"
    assert prov["handling"] == "C"
    assert prov["handling_conditions"] == "Not to be shared outside WYP"
    assert prov["agency"] == "WYP"


def test_recorded_at_given_by_the_source_is_kept(api):
    created = api.create("person", {"surname": "Smith"}, recorded_at="2018-07-01T14:45:00+01:00")
    prov = api.get(created["id"])["provenance"]
    assert dt.datetime.fromisoformat(prov["recorded_at"]) == dt.datetime(2018, 7, 1, 13, 45, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(prov["created_at"]) == dt.datetime(2018, 7, 1, 13, 45, tzinfo=dt.UTC)


def _prov(**extra: Any) -> dict[str, Any]:
    return {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1", **extra}
