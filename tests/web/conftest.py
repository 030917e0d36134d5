"""Fixtures for the web UI tests: a TestClient on each back end with the UI installed, seeded records, and
a signed-in browser session.

Signing in uses the real `openrms.access.accounts` and `openrms.access.authn`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import openrms.identity.hooks  # duplicates resolve to one master as they are written
import openrms.search.hooks  # noqa: F401  (records are indexed as they are written)
from openrms.api.app import create_app
from openrms.store.database import Database
from openrms.store.links import NewLink, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records

USERNAME, PASSWORD, AGENCY = "pc1234", "correct horse battery staple", "WYP"
LEEDS = (53.8008, -1.5491)


def create_account(db: Database) -> None:
    """An agency and an officer of it, through the real accounts module."""
    from openrms.access import accounts

    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        accounts.create_agency(conn, AGENCY, "West Yorkshire Police", "police", now)
        accounts.create_user(
            conn, USERNAME, "PC Test", AGENCY, ["investigator"], "NPPV2", PASSWORD, now, by="test"
        )


def add_user(
    db: Database,
    username: str,
    *,
    agency: str = AGENCY,
    roles: tuple[str, ...] | list[str] = ("investigator",),
    vetting: str = "NPPV2",
) -> None:
    """Another user to sign in as (with their agency, made if new), through the real accounts module."""
    from openrms.access import accounts

    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        if agency not in {a["code"] for a in accounts.list_agencies(conn)}:
            accounts.create_agency(conn, agency, f"Agency {agency}", "police", now)
        accounts.create_user(conn, username, username, agency, list(roles), vetting, PASSWORD, now, "tests")


def use_auth(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """An agency and officer to sign in as (through the real accounts module); returns "real"."""
    create_account(db)
    return "real"


@pytest.fixture
def auth(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    return use_auth(db, monkeypatch)


@pytest.fixture
def real_auth(db: Database) -> None:
    create_account(db)


def make_client(db: Database) -> TestClient:
    return TestClient(create_app(db), raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with make_client(db) as test_client:
        yield test_client


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name!r} in the page"
    return found.group(1)


def sign_in(
    client: TestClient,
    purpose: str | None = "investigation",
    reason: str = "Op TEST",
    username: str = USERNAME,
) -> str:
    """Sign in through the form (and choose a purpose and reason); returns the session's CSRF token."""
    page = client.get("/ui/sign-in")
    assert page.status_code == 200, page.text
    response = client.post(
        "/ui/sign-in",
        data={"username": username, "password": PASSWORD, "csrf_token": hidden(page.text, "csrf_token")},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/ui/purpose")
    if purpose is None:
        return ""
    form = client.get(response.headers["location"])
    token = hidden(form.text, "csrf_token")
    chosen = client.post(
        "/ui/purpose",
        data={"purpose": purpose, "reason": reason, "csrf_token": token, "next": "/ui/"},
    )
    assert chosen.status_code == 303, chosen.text
    return token


@pytest.fixture
def signed_in(client: TestClient, auth: str) -> TestClient:
    sign_in(client)
    return client


def _prov(key: str, agency: str = AGENCY, system: str = "NICHE") -> Provenance:
    return Provenance(agency=agency, source_system=system, recorded_by="PC 1234", source_key=key)


@pytest.fixture
def seeded(db: Database) -> dict[str, str]:
    return seed(db)


def seed(db: Database) -> dict[str, str]:
    """Two records of one man (resolving to one master), a crime he is the suspect in, at a place, and
    his car; returns their record ids by name."""
    items = {
        "john": NewRecord(
            "person",
            {
                "forenames": "John",
                "surname": "Smith",
                "date_of_birth": "1985-03-02",
                "gender": "M",
                "pnc_id": "05/123456R",
                "warning_markers": ["VI"],
            },
            # Recorded before Johnny: the man's page lists (and draws the network from) this record first.
            Provenance(AGENCY, "NICHE", "PC 1234", "p1", recorded_at=dt.datetime(2018, 7, 15, tzinfo=dt.UTC)),
        ),
        "johnny": NewRecord(
            "person",
            {
                "forenames": "Johnny",
                "surname": "Smith",
                "date_of_birth": "1985-03-02",
                "gender": "M",
                "pnc_id": "05/123456R",
            },
            _prov("p2", system="CUSTODY"),
        ),
        "crime": NewRecord(
            "crime",
            {
                "reference": "13/1234/18",
                "crime_type": "BURGLARY",
                "occurred_from": "2018-07-14",
                "summary": "Burglary of a dwelling <script>alert(1)</script>",
                "narrative": "The suspect forced the rear door with a screwdriver.",
            },
            _prov("c1"),
        ),
        "place": NewRecord(
            "point",
            {"latitude": LEEDS[0], "longitude": LEEDS[1], "description": "Briggate, Leeds"},
            _prov("l1"),
        ),
        "car": NewRecord(
            "vehicle", {"vrm": "AB12CDE", "make": "Ford", "model": "Focus", "colour": "BLUE"}, _prov("v1")
        ),
    }
    with db.write() as conn:
        outcomes = create_records(conn, list(items.values()))
        ids = {name: o.id for name, o in zip(items, outcomes, strict=True)}
        upsert_links(
            conn,
            [
                NewLink("SUSPECT", ids["john"], ids["crime"], _prov("k1")),
                NewLink("OCCURRED_AT", ids["crime"], ids["place"], _prov("k2")),
                NewLink("KEEPER_OF", ids["johnny"], ids["car"], _prov("k3"), valid_from="2017-01-01"),
            ],
        )
    return ids
