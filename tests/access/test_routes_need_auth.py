"""No route answers without authentication except /health and sign-in: every route in the OpenAPI document
is called without credentials, so a new route cannot slip through unprotected."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from openrms.api.app import create_app

OPEN = {
    ("GET", "/health"),
    ("POST", "/auth/sign-in"),
    ("GET", "/auth/oidc/login"),
    ("GET", "/auth/oidc/callback"),
}


def _routes(app):
    for path, item in app.openapi()["paths"].items():
        for method in item:
            yield method.upper(), path


def test_every_route_but_health_and_sign_in_is_401_without_credentials(sqlite_db):
    app = create_app(sqlite_db)
    routes = sorted(set(_routes(app)))
    assert len(routes) > 40  # the enumeration really found the API
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in routes:
            if (method, path) in OPEN:
                continue
            url = re.sub(r"\{[^}]+\}", "x" * 24, path)
            response = client.request(method, url, json={})
            assert response.status_code == 401, (method, path, response.status_code, response.text[:200])


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "bearer ormsk_" + "A" * 40]
)
def test_bad_credentials_are_401(sqlite_db, header):
    with TestClient(create_app(sqlite_db), raise_server_exceptions=False) as client:
        response = client.get("/records", headers={"Authorization": header})
    assert response.status_code == 401


def test_health_needs_no_credentials(sqlite_db):
    with TestClient(create_app(sqlite_db)) as client:
        assert client.get("/health").status_code == 200


def test_web_pages_redirect_to_sign_in(sqlite_db):
    with TestClient(create_app(sqlite_db), follow_redirects=False) as client:
        response = client.get("/ui/search")
    assert response.status_code in (302, 303) and "/ui/sign-in" in response.headers["location"]
