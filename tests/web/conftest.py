"""Fixtures for the web UI tests: a TestClient on each back end with the UI installed, seeded records, and
a signed-in browser session.

Signing in uses the real `openrms.access.accounts` and `openrms.access.authn` when they are implemented.
Until then, the page tests (search, person) run against `ContractAuthn`, an in-memory stand-in written
from the documented contract of `authn`, so the web layer is tested now; the tests of the sign-in flow
itself need the real thing and skip with a reason naming what is missing.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

import openrms.identity.hooks  # duplicates resolve to one master as they are written
import openrms.search.hooks  # noqa: F401  (records are indexed as they are written)
from openrms.access import authn
from openrms.access.model import Subject
from openrms.api.app import create_app
from openrms.errors import Unauthorized
from openrms.store.database import Database
from openrms.store.links import NewLink, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.web import install

USERNAME, PASSWORD, AGENCY = "pc1234", "correct horse battery staple", "WYP"
LEEDS = (53.8008, -1.5491)


def real_auth_missing() -> str | None:
    """Why the real accounts and sessions cannot be used yet, or None when they can."""
    try:
        from openrms.access import accounts
    except ImportError:
        return "openrms.access.accounts does not exist yet (authentication is being built)"
    for module, names in (
        (accounts, ("create_agency", "create_user")),
        (authn, ("sign_in", "start_session")),
    ):
        for name in names:
            if not hasattr(module, name):
                return f"{module.__name__}.{name} does not exist yet (authentication is being built)"
    return None


def create_account(db: Database) -> None:
    """An agency and an officer of it, through the real accounts module (raises NotImplementedError if
    it is still a stub)."""
    from openrms.access import accounts

    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        accounts.create_agency(conn, AGENCY, "West Yorkshire Police", "police", now)
        accounts.create_user(
            conn, USERNAME, "PC Test", AGENCY, ["investigator"], "NPPV2", PASSWORD, now, by="test"
        )


@dataclass
class _FakeSession:
    subject: Subject
    csrf: str
    ended: bool = False


class ContractAuthn:
    """sign_in / start_session / set_session_purpose / end_session / authenticate_session as the authn
    contract documents them, kept in memory (one user: USERNAME / PASSWORD of AGENCY)."""

    def __init__(self) -> None:
        self.sessions: dict[str, _FakeSession] = {}

    def sign_in(self, conn: Any, username: str, password: str, now: dt.datetime) -> Subject:
        if username != USERNAME or password != PASSWORD:
            raise Unauthorized("unknown username or wrong password")
        return Subject("u1", USERNAME, AGENCY, frozenset({"investigator"}), "NPPV2")

    def start_session(
        self,
        conn: Any,
        subject: Subject,
        now: dt.datetime,
        purpose: str | None = None,
        reason: str | None = None,
    ) -> tuple[str, str]:
        session_id, csrf = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.sessions[session_id] = _FakeSession(subject.with_purpose(purpose, reason), csrf)
        return session_id, csrf

    def set_session_purpose(self, conn: Any, session_id: str, purpose: str, reason: str | None) -> None:
        found = self.sessions[session_id]
        found.subject = found.subject.with_purpose(purpose, reason)

    def end_session(self, conn: Any, session_id: str, now: dt.datetime) -> None:
        self.sessions[session_id].ended = True

    def authenticate_session(self, conn: Any, session_id: str, now: dt.datetime) -> authn.Session | None:
        found = self.sessions.get(session_id)
        if found is None or found.ended:
            return None
        return authn.Session(found.subject, found.csrf)


def use_auth(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """'real' when the accounts module works, else 'contract' (ContractAuthn patched into authn)."""
    if real_auth_missing() is None:
        try:
            create_account(db)
            return "real"
        except NotImplementedError:
            pass
    fake = ContractAuthn()
    for name in ("sign_in", "start_session", "set_session_purpose", "end_session", "authenticate_session"):
        monkeypatch.setattr(authn, name, getattr(fake, name), raising=False)
    return "contract"


@pytest.fixture
def auth(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    return use_auth(db, monkeypatch)


@pytest.fixture
def real_auth(db: Database) -> None:
    """The real accounts and sessions; skips (with the reason) while they are not implemented."""
    reason = real_auth_missing()
    if reason:
        pytest.skip(reason)
    try:
        create_account(db)
    except NotImplementedError as exc:
        pytest.skip(f"openrms.access.accounts is still a stub: {exc!r}")


def make_client(db: Database) -> TestClient:
    app = create_app(db)
    if not any(getattr(r, "path", "") == "/ui/" for r in app.routes):
        install(app)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with make_client(db) as test_client:
        yield test_client


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name!r} in the page"
    return found.group(1)


def sign_in(client: TestClient, purpose: str | None = "investigation") -> str:
    """Sign in through the form (and choose a purpose); returns the session's CSRF token."""
    page = client.get("/ui/sign-in")
    assert page.status_code == 200, page.text
    response = client.post(
        "/ui/sign-in",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": hidden(page.text, "csrf_token")},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/ui/purpose")
    if purpose is None:
        return ""
    form = client.get(response.headers["location"])
    token = hidden(form.text, "csrf_token")
    chosen = client.post("/ui/purpose", data={"purpose": purpose, "csrf_token": token, "next": "/ui/"})
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
            _prov("p1"),
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
