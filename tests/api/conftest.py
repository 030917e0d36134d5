"""Fixtures for the HTTP API tests: a TestClient on each back end, and a small helper speaking only HTTP.

Every test here drives the API through HTTP alone; the store is reached only through `create_app(db)`.
The client never re-raises server exceptions, so an unexpected error shows up as the 500 response a real
caller would get (and a test asserting "never a 500" fails with that response in its message).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from openrms.api.app import create_app
from openrms.store.database import Database
from tests.helpers import share_everything, sign_in

PROBLEM = "application/problem+json"
PROV: dict[str, Any] = {"agency": "WYP", "source_system": "NICHE", "recorded_by": "PC 1234"}


class Api:
    """Thin helpers over a TestClient; each call is one HTTP request."""

    def __init__(self, client: TestClient, db: Database | None = None) -> None:
        self.client = client
        self.db = db
        self._others: dict[str, TestClient] = {}

    def as_agency(self, agency: str) -> TestClient:
        """A client signed in at `agency`, which shares all its records with WYP (the main client's)."""
        agency = agency.strip().upper()
        if agency == PROV["agency"] or self.db is None:
            return self.client
        if agency not in self._others:
            other = TestClient(self.client.app, raise_server_exceptions=False)
            sign_in(other, self.db, username=f"test.{agency.lower()}", agency=agency)
            share_everything(self.db, agency, PROV["agency"])
            self._others[agency] = other
        return self._others[agency]

    def create(
        self, entity_type: str, data: dict[str, Any], expect: int | None = 201, **provenance: Any
    ) -> dict[str, Any]:
        client = self.as_agency(provenance.get("agency", PROV["agency"]))
        response = client.post(
            f"/records/{entity_type}", json={"data": data, "provenance": {**PROV, **provenance}}
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json()

    def get(self, record_id: str, **params: Any) -> dict[str, Any]:
        response = self.client.get(f"/records/{record_id}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def history(self, record_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/records/{record_id}/history")
        assert response.status_code == 200, response.text
        return response.json()["versions"]

    def link(
        self, link_type: str, from_id: str, to_id: str, expect: int | None = 201, **fields: Any
    ) -> dict[str, Any]:
        provenance = {**PROV, **fields.pop("provenance", {})}
        body = {
            "link_type": link_type,
            "from_id": from_id,
            "to_id": to_id,
            "provenance": provenance,
            **fields,
        }
        response = self.client.post("/links", json=body)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json()

    def links_of(self, record_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/records/{record_id}/links")
        assert response.status_code == 200, response.text
        return response.json()["links"]

    def list_all(self, **params: Any) -> list[dict[str, Any]]:
        """Every record matching `params`, following next_after page by page."""
        items: list[dict[str, Any]] = []
        after = None
        while True:
            page_params = {**params, "limit": 500, **({"after": after} if after else {})}
            response = self.client.get("/records", params=page_params)
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["items"]
            after = body["next_after"]
            if after is None:
                return items

    def count(self, **params: Any) -> int:
        return len(self.list_all(include_deleted=True, **params))

    @staticmethod
    def problem(response: httpx.Response, status: int) -> dict[str, Any]:
        """The response is an RFC 9457 problem with `status`; returns its body."""
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
        body = response.json()
        assert body["status"] == status
        assert body["type"].startswith("/problems/")
        assert body["title"] and body["detail"]
        assert body["instance"] == response.request.url.path
        return body

    @staticmethod
    def issue_paths(body: dict[str, Any], severity: str = "error") -> set[str]:
        """Paths of the issues of `severity`, relative to the record's data (a leading "data." is dropped,
        so a field is named the same whether the request model or the registry's validator refused it)."""
        return {i["path"].removeprefix("data.") for i in body.get("issues", []) if i["severity"] == severity}


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        sign_in(test_client, db)
        yield test_client


@pytest.fixture
def api(client: TestClient, db: Database) -> Api:
    return Api(client, db)
