"""Health, the OpenAPI document, the schema endpoints, and the error shape of routing failures."""

from __future__ import annotations

from typing import Any

import pytest

from openrms.schema import registry
from openrms.store import migrate

ENTITY_TYPES = sorted(registry().entity_types)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref (and a single-item anyOf/allOf wrapper) to the schema object it names."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = spec["components"]["schemas"][name]
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        else:
            return schema


def test_health_reports_ok_and_the_schema_revision(api):
    response = api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["schema_revision"] == migrate.head()
    assert body["database"] in ("sqlite", "postgresql")
    assert body["version"]


def test_openapi_documents_a_create_route_for_every_entity_type(api):
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    for name in ENTITY_TYPES:
        path = f"/records/{name}"
        assert "post" in spec["paths"].get(path, {}), f"no POST {path} in the OpenAPI document"
        operation = spec["paths"][path]["post"]
        assert "201" in operation["responses"]
        body = _resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
        assert {"data", "provenance"} <= set(body["properties"])
        assert set(body["required"]) >= {"data", "provenance"}
        data = _resolve(spec, body["properties"]["data"])
        declared = set(registry().entity(name).fields)
        assert set(data["properties"]) == declared, f"{name}: request body fields differ from the registry"


def test_openapi_person_body_names_its_fields_with_their_registry_types(api):
    spec = api.client.get("/openapi.json").json()
    operation = spec["paths"]["/records/person"]["post"]
    body = _resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
    data = _resolve(spec, body["properties"]["data"])
    assert data["title"] == "PersonData"
    props = data["properties"]
    assert {"surname", "forenames", "pnc_id", "date_of_birth", "gender"} <= set(props)
    assert props["pnc_id"]["x-openrms-type"] == "pnc_id"
    assert props["gender"]["x-codelist"] == "gender"
    assert "M" in (props["gender"].get("enum") or props["gender"]["x-codes"])


def test_openapi_lists_the_other_routes(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"get"} <= set(paths["/records"])
    assert {"get", "put", "patch"} <= set(paths["/records/{record_id}"])
    for path in (
        "/records/{record_id}/history",
        "/records/{record_id}/links",
        "/masters/{master_id}",
        "/links/{link_id}",
        "/links/{link_id}/history",
        "/health",
        "/schema",
    ):
        assert path in paths, path
    assert "post" in paths["/links"]
    assert "put" in paths["/links/{link_id}"]
    assert "post" in paths["/records/{record_id}/retract"]


def test_schema_endpoint_lists_entity_and_link_types(api):
    body = api.client.get("/schema").json()
    assert sorted(e["name"] for e in body["entity_types"]) == ENTITY_TYPES
    assert "SUSPECT" in {lt["name"] for lt in body["link_types"]}
    assert "crime_type" in body["codelists"]
    person = api.client.get("/schema/person").json()
    assert "pnc_id" in {f["name"] for f in person["fields"]}


def test_schema_of_unknown_type_is_a_404_problem(api):
    body = api.problem(api.client.get("/schema/unicorn"), 404)
    assert "unicorn" in body["detail"]


def test_unknown_route_is_a_404_problem(api):
    body = api.problem(api.client.get("/no/such/route"), 404)
    assert body["type"] == "/problems/not-found"


def test_unknown_record_is_a_404_problem(api):
    body = api.problem(api.client.get("/records/" + "0" * 24), 404)
    assert "0" * 24 in body["detail"]
    api.problem(api.client.get("/records/" + "0" * 24 + "/history"), 404)
    api.problem(api.client.get("/records/" + "0" * 24 + "/links"), 404)
    api.problem(api.client.get("/links/" + "0" * 24), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/health"), ("put", "/records"), ("delete", "/records/" + "0" * 24), ("get", "/links")],
)
def test_wrong_method_is_a_405_problem(api, method, path):
    body = api.problem(api.client.request(method.upper(), path), 405)
    assert body["type"] == "/problems/method-not-allowed"


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2", b"\xff\xfe", b"null", b"[]", b'"text"'])
def test_bad_json_body_is_a_422_problem(api, content):
    response = api.client.post(
        "/records/person", content=content, headers={"content-type": "application/json"}
    )
    body = api.problem(response, 422)
    assert body["issues"], body
    assert api.count(entity_type="person") == 0


def test_missing_provenance_is_a_422_problem_naming_it(api):
    response = api.client.post("/records/person", json={"data": {"surname": "Smith"}})
    body = api.problem(response, 422)
    assert "provenance" in api.issue_paths(body)


def test_bad_query_parameter_types_are_422_problems(api):
    api.problem(api.client.get("/records", params={"limit": "lots"}), 422)
    api.problem(api.client.get("/records", params={"limit": 0}), 422)
    api.problem(api.client.get("/records", params={"include_deleted": "perhaps"}), 422)
    record = api.create("person", {"surname": "Smith"})
    api.problem(api.client.get(f"/records/{record['id']}", params={"as_at": "yesterday"}), 422)
    api.problem(api.client.get(f"/records/{record['id']}", params={"version": 0}), 422)
