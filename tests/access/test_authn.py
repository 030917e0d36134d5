"""Authentication and account administration, through the HTTP API, the CLI and the OIDC flow.

Covers: password sign-in (JSON and form), the session cookie and its CSRF token, lock-out and unlock,
disabled accounts, purposes, sign-out, API tokens (create, use, scopes, expiry, revocation), what the
database holds (argon2id hashes, no password or token in clear anywhere), the admin API's permissions
(administrators only, own agency only), the audit entries, the CLI, OIDC claim mapping and a whole OIDC
sign-in against a fake provider, and that garbage credentials always answer 401, never 500.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from openrms.access import accounts, audit, authn, oidc
from openrms.access.model import Subject
from openrms.api.app import create_app
from openrms.api.routers import admin as admin_router
from openrms.api.routers import auth as auth_router
from openrms.cli.access import agency_app, token_app, user_app
from openrms.errors import BadRequest, Conflict, Forbidden, Unauthorized
from openrms.store.database import Database
from openrms.store.tables import api_token, metadata, user_account

ADMIN, OFFICER, CPS_ADMIN = "admin.wyp", "pc.1234", "admin.cps"
PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "a different long passphrase"
CSRF = authn.CSRF_HEADER


# ---- fixtures ----


def _app(db: Database) -> Any:
    app = create_app(db)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/auth/sign-in" not in paths:
        app.include_router(auth_router.router)
    if "/admin/users" not in paths:
        app.include_router(admin_router.router)
    return app


@pytest.fixture
def people(db: Database) -> Database:
    """Two agencies (a police force and a prosecutor), an administrator of each and an officer."""
    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        accounts.create_agency(conn, "WYP", "West Yorkshire Police", "police", now)
        accounts.create_agency(conn, "CPSY", "CPS Yorkshire", "prosecutor", now)
        accounts.add_unit(conn, "WYP", "CID", "Criminal Investigation Department")
        accounts.create_user(conn, ADMIN, "Sam Admin", "WYP", ["administrator"], "SC", PASSWORD, now, "tests")
        accounts.create_user(
            conn,
            OFFICER,
            "PC Jo Bloggs",
            "WYP",
            ["investigator"],
            "NPPV2",
            PASSWORD,
            now,
            "tests",
            unit="CID",
        )
        accounts.create_user(
            conn, CPS_ADMIN, "Cas Admin", "CPSY", ["administrator"], "SC", PASSWORD, now, "t"
        )
    return db


@pytest.fixture
def client(people: Database) -> Iterator[TestClient]:
    with TestClient(_app(people), raise_server_exceptions=False) as test_client:
        yield test_client


def fresh_client(db: Database) -> TestClient:
    return TestClient(_app(db), raise_server_exceptions=False)


def sign_in(
    client: TestClient, username: str = OFFICER, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = client.post("/auth/sign-in", json={"username": username, "password": password, **extra})
    assert response.status_code == 200, response.text
    client.headers[CSRF] = response.json()["csrf_token"]
    return response.json()


def user_id(db: Database, username: str) -> str:
    with db.read() as conn:
        return conn.execute(select(user_account.c.id).where(user_account.c.username == username)).scalar_one()


def actions(db: Database) -> list[tuple[str, str]]:
    with db.read() as conn:
        return [(e["action"], e["actor"]) for e in audit.entries(conn, limit=1000)]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- passwords and sign-in ----


def test_sign_in_sets_a_session_cookie_and_me_needs_no_purpose(client: TestClient) -> None:
    response = client.post("/auth/sign-in", json={"username": OFFICER, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == OFFICER and body["agency"] == "WYP" and body["roles"] == ["investigator"]
    assert body["purpose"] is None and len(body["csrf_token"]) >= 32
    cookie = response.headers["set-cookie"].lower()
    assert authn.SESSION_COOKIE in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http here; over https the cookie is Secure

    me = client.get("/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["user"] == OFFICER and me.json()["via"] == "session"
    assert me.json()["vetting"] == "OFFICIAL-SENSITIVE" and me.json()["unit"] == "CID"
    assert me.json()["csrf_token"] == body["csrf_token"]
    assert me.json()["display_name"] == "PC Jo Bloggs"


def test_session_cookie_is_secure_over_https(people: Database) -> None:
    with TestClient(_app(people), base_url="https://testserver", raise_server_exceptions=False) as c:
        response = c.post("/auth/sign-in", json={"username": OFFICER, "password": PASSWORD})
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()


def test_sign_in_with_form_fields_and_purpose(client: TestClient) -> None:
    form = {"username": "PC.1234", "password": PASSWORD, "purpose": "investigation", "reason": "crime 13/1"}
    response = client.post("/auth/sign-in", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["purpose"] == "investigation" and response.json()["reason"] == "crime 13/1"
    assert client.get("/auth/me").json()["purpose"] == "investigation"


def test_a_sign_in_form_posted_from_another_site_is_refused(client: TestClient) -> None:
    form = {"username": OFFICER, "password": PASSWORD}
    response = client.post("/auth/sign-in", data=form, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    response = client.post("/auth/sign-in", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert client.post("/auth/sign-in", data=form, headers={"Origin": "http://testserver"}).status_code == 200


def test_wrong_password_and_unknown_user_answer_alike(client: TestClient, people: Database) -> None:
    wrong = client.post("/auth/sign-in", json={"username": OFFICER, "password": "not the password"})
    unknown = client.post("/auth/sign-in", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong username or password"
    assert authn.SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    assert ("sign-in-failed", OFFICER) in actions(people)
    assert ("sign-in-failed", "nobody") in actions(people)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": OFFICER},
        {"username": "", "password": "x"},
        {"username": OFFICER, "password": PASSWORD, "x": 1},
    ],
)
def test_malformed_sign_in_is_a_client_error(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/auth/sign-in", json=body).status_code == 422


def test_sign_in_with_an_unknown_purpose_lists_the_known_ones(client: TestClient) -> None:
    response = client.post(
        "/auth/sign-in", json={"username": OFFICER, "password": PASSWORD, "purpose": "curiosity"}
    )
    assert response.status_code == 400
    assert "investigation" in response.json()["detail"] and "safeguarding" in response.json()["detail"]


def test_sign_in_refuses_bodies_that_are_not_json_or_form(client: TestClient) -> None:
    response = client.post("/auth/sign-in", content=b"username=x", headers={"content-type": "text/plain"})
    assert response.status_code == 400
    response = client.post(
        "/auth/sign-in", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert client.post("/auth/sign-in", json=["a", "b"]).status_code == 400


def test_five_failures_lock_the_account_until_an_administrator_unlocks_it(
    client: TestClient, people: Database
) -> None:
    for attempt in range(1, 6):
        response = client.post(
            "/auth/sign-in", json={"username": OFFICER, "password": f"wrong guess {attempt}"}
        )
        assert response.status_code == 401
    assert re.search(r"locked until \d\d:\d\d UTC", response.json()["detail"]), response.json()
    locked = client.post("/auth/sign-in", json={"username": OFFICER, "password": PASSWORD})
    assert locked.status_code == 401
    assert re.search(r"the account is locked until \d\d:\d\d UTC", locked.json()["detail"])

    admin = fresh_client(people)
    sign_in(admin, ADMIN)
    listed = {u["username"]: u for u in admin.get("/admin/users").json()["items"]}
    assert listed[OFFICER]["locked_until"] is not None
    unlocked = admin.post(f"/admin/users/{user_id(people, OFFICER)}/unlock")
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked_until"] is None and unlocked.json()["failed_attempts"] == 0
    sign_in(client)
    assert ("user-updated", ADMIN) in actions(people)


def test_a_success_resets_the_count_of_failures(client: TestClient) -> None:
    for _ in range(4):
        assert (
            client.post("/auth/sign-in", json={"username": OFFICER, "password": "wrong guess!"}).status_code
            == 401
        )
    sign_in(client)
    for _ in range(4):
        assert (
            client.post("/auth/sign-in", json={"username": OFFICER, "password": "wrong guess!"}).status_code
            == 401
        )
    sign_in(client)  # 8 failures in all, but never 5 in a row


def test_a_lock_runs_out_after_fifteen_minutes(people: Database) -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    for _ in range(5):
        with pytest.raises(Unauthorized), people.write() as conn:
            authn.sign_in(conn, OFFICER, "wrong password!", start)
    with pytest.raises(Unauthorized, match="locked until 09:15 UTC"), people.write() as conn:
        authn.sign_in(conn, OFFICER, PASSWORD, start + dt.timedelta(minutes=14))
    with people.write() as conn:
        subject = authn.sign_in(conn, OFFICER, PASSWORD, start + dt.timedelta(minutes=16))
    assert subject.username == OFFICER and subject.roles == frozenset({"investigator"})
    with people.read() as conn:
        row = conn.execute(select(user_account).where(user_account.c.username == OFFICER)).one()
    assert row.failed_attempts == 0 and row.locked_until is None


def test_a_disabled_account_cannot_sign_in_and_loses_its_sessions_and_tokens(
    client: TestClient, people: Database
) -> None:
    sign_in(client)
    token = client.post("/auth/tokens", json={"name": "script", "scopes": ["read"]}).json()["token"]
    admin = fresh_client(people)
    sign_in(admin, ADMIN)
    response = admin.patch(f"/admin/users/{user_id(people, OFFICER)}", json={"active": False})
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert client.get("/auth/me").status_code == 401
    assert fresh_client(people).get("/auth/me", headers=bearer(token)).status_code == 401
    refused = fresh_client(people).post("/auth/sign-in", json={"username": OFFICER, "password": PASSWORD})
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"]
    assert admin.patch(f"/admin/users/{user_id(people, OFFICER)}", json={"active": True}).status_code == 200
    sign_in(fresh_client(people))
    assert fresh_client(people).get("/auth/me", headers=bearer(token)).status_code == 200


# ---- sessions: CSRF, purpose, sign-out ----


def test_unsafe_requests_with_the_cookie_need_the_csrf_header(client: TestClient) -> None:
    body = sign_in(client)
    del client.headers[CSRF]
    assert client.post("/auth/purpose", json={"purpose": "investigation"}).status_code == 403
    wrong = client.post("/auth/purpose", json={"purpose": "investigation"}, headers={CSRF: "not-the-token"})
    assert wrong.status_code == 403
    right = client.post(
        "/auth/purpose", json={"purpose": "investigation"}, headers={CSRF: body["csrf_token"]}
    )
    assert right.status_code == 200, right.text
    assert client.get("/auth/me").status_code == 200  # a GET needs no CSRF token


def test_declaring_a_purpose(client: TestClient, people: Database) -> None:
    sign_in(client)
    response = client.post("/auth/purpose", json={"purpose": "safeguarding", "reason": "  MASH referral 42 "})
    assert response.status_code == 200, response.text
    assert response.json()["purpose"] == "safeguarding" and response.json()["reason"] == "MASH referral 42"
    me = client.get("/auth/me").json()
    assert (me["purpose"], me["reason"]) == ("safeguarding", "MASH referral 42")
    unknown = client.post("/auth/purpose", json={"purpose": "curiosity"})
    assert unknown.status_code == 400
    assert "investigation" in unknown.json()["detail"] and "audit" in unknown.json()["detail"]
    assert ("purpose-declared", OFFICER) in actions(people)


def test_sign_out_ends_the_session(client: TestClient, people: Database) -> None:
    sign_in(client)
    cookie = client.cookies.get(authn.SESSION_COOKIE)
    response = client.post("/auth/sign-out")
    assert response.status_code == 200, response.text
    assert client.get("/auth/me").status_code == 401  # the cookie is gone...
    replay = fresh_client(people)
    replay.cookies.set(authn.SESSION_COOKIE, cookie)
    assert replay.get("/auth/me").status_code == 401  # ... and the session behind it has ended
    assert ("sign-out", OFFICER) in actions(people)


def test_no_credentials_is_401(client: TestClient) -> None:
    for method, path in (("GET", "/auth/me"), ("POST", "/auth/sign-out"), ("GET", "/admin/users")):
        response = client.request(method, path)
        assert response.status_code == 401, (path, response.text)


def test_sessions_expire(people: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with people.write() as conn:
        subject = authn.sign_in(conn, OFFICER, PASSWORD, now)
        session_id, csrf = authn.start_session(conn, subject, now, "investigation", None, hours=1)
    with people.read() as conn:
        live = authn.authenticate_session(conn, session_id, now + dt.timedelta(minutes=59))
        assert live is not None and live.csrf == csrf and live.subject.purpose == "investigation"
        assert authn.authenticate_session(conn, session_id, now + dt.timedelta(minutes=61)) is None


# ---- API tokens ----


def test_tokens_create_use_list_revoke(client: TestClient, people: Database) -> None:
    sign_in(client)
    created = client.post(
        "/auth/tokens",
        json={"name": "case system", "scopes": ["read"], "purpose": "investigation", "days": 30},
    )
    assert created.status_code == 201, created.text
    token, token_id = created.json()["token"], created.json()["id"]
    assert token.startswith("ormsk_") and created.json()["status"] == "active"

    system = fresh_client(people)
    me = system.get("/auth/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["via"] == "token" and me.json()["scopes"] == ["read"]
    assert me.json()["purpose"] == "investigation" and me.json()["user"] == OFFICER
    # a token is not a session: no CSRF token needed, but no sign-out or purpose change either
    assert system.post("/auth/purpose", json={"purpose": "audit"}, headers=bearer(token)).status_code == 400

    listed = client.get("/auth/tokens").json()["items"]
    assert [t["id"] for t in listed] == [token_id]
    assert token not in json.dumps(listed) and "hash" not in json.dumps(listed)

    assert client.delete(f"/auth/tokens/{token_id}").status_code == 200
    assert system.get("/auth/me", headers=bearer(token)).status_code == 401
    assert client.get("/auth/tokens").json()["items"][0]["status"] == "revoked"
    assert ("token-created", OFFICER) in actions(people) and ("token-revoked", OFFICER) in actions(people)


def test_token_scopes_are_limited_to_what_the_roles_allow(client: TestClient, people: Database) -> None:
    sign_in(client)
    refused = client.post("/auth/tokens", json={"name": "x", "scopes": ["read", "admin"]})
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    unknown = client.post("/auth/tokens", json={"name": "x", "scopes": ["everything"]})
    assert unknown.status_code == 403
    # a read-only token cannot make a write token
    read_only = client.post("/auth/tokens", json={"name": "ro", "scopes": ["read"]}).json()["token"]
    system = fresh_client(people)
    wider = system.post("/auth/tokens", json={"name": "rw", "scopes": ["write"]}, headers=bearer(read_only))
    assert wider.status_code == 403


def test_an_administrators_read_token_cannot_administer(client: TestClient, people: Database) -> None:
    sign_in(client, ADMIN)
    made = client.post("/admin/tokens", json={"user": ADMIN, "name": "t", "scopes": ["admin"]})
    assert made.status_code == 201, made.text
    full = made.json()["token"]
    with people.write() as conn:
        _, write_only = authn.create_token(
            conn, user_id(people, ADMIN), "w", ["write"], None, dt.datetime.now(dt.UTC)
        )
    system = fresh_client(people)
    assert system.get("/admin/users", headers=bearer(full)).status_code == 200
    assert system.get("/admin/users", headers=bearer(write_only)).status_code == 403


def test_expired_and_unknown_tokens_are_401(client: TestClient, people: Database) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with people.write() as conn:
        _, token = authn.create_token(
            conn,
            user_id(people, OFFICER),
            "old",
            ["read"],
            None,
            past,
            expires_at=past + dt.timedelta(days=1),
        )
    response = client.get("/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert client.get("/auth/me", headers=bearer(token[:-1] + "A")).status_code == 401
    assert client.get("/auth/me", headers=bearer("ormsk_")).status_code == 401
    assert client.get("/auth/me", headers={"Authorization": "Bearer"}).status_code == 401


def test_token_last_use_is_recorded_at_most_once_a_minute(client: TestClient, people: Database) -> None:
    with people.write() as conn:
        token_id, token = authn.create_token(
            conn, user_id(people, OFFICER), "feed", ["read"], None, dt.datetime.now(dt.UTC)
        )
    assert client.get("/auth/me", headers=bearer(token)).status_code == 200
    with people.read() as conn:
        first = authn.get_token(conn, token_id)["last_used_at"]
    assert first is not None
    assert client.get("/auth/me", headers=bearer(token)).status_code == 200
    with people.read() as conn:
        assert authn.get_token(conn, token_id)["last_used_at"] == first
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
        assert authn.authenticate_token(conn, token, later) is not None
    with people.read() as conn:
        assert authn.get_token(conn, token_id)["last_used_at"] == later


def test_token_library_validation(people: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    uid = user_id(people, OFFICER)
    with people.write() as conn:
        with pytest.raises(BadRequest, match="unknown scope"):
            authn.create_token(conn, uid, "x", ["root"], None, now)
        with pytest.raises(BadRequest, match="unknown purpose"):
            authn.create_token(conn, uid, "x", ["read"], "curiosity", now)
        with pytest.raises(BadRequest, match="already passed"):
            authn.create_token(conn, uid, "x", ["read"], None, now, expires_at=now - dt.timedelta(seconds=1))
        with pytest.raises(BadRequest, match="name"):
            authn.create_token(conn, uid, "  ", ["read"], None, now)


# ---- what is stored ----


def _everything(db: Database) -> str:
    """Every value of every table, as text."""
    parts = []
    with db.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_no_password_or_token_is_stored_in_clear(client: TestClient, people: Database) -> None:
    sign_in(client)
    token = client.post("/auth/tokens", json={"name": "feed", "scopes": ["read"]}).json()["token"]
    session_id = client.cookies.get(authn.SESSION_COOKIE)
    client.post("/auth/sign-in", json={"username": ADMIN, "password": OTHER_PASSWORD})  # a failure, audited
    stored = _everything(people)
    for secret in (PASSWORD, OTHER_PASSWORD, token, token.removeprefix("ormsk_"), session_id):
        assert secret not in stored
    with people.read() as conn:
        hashes = conn.execute(select(user_account.c.password_hash)).scalars().all()
        token_hashes = conn.execute(select(api_token.c.token_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert token_hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in token_hashes)


def test_password_policy(client: TestClient, people: Database) -> None:
    sign_in(client, ADMIN)
    short = client.post(
        "/admin/users",
        json={
            "username": "dc.short",
            "display_name": "DC Short",
            "roles": ["officer"],
            "vetting": "NPPV1",
            "password": "tooshort",
        },
    )
    assert short.status_code == 400 and "at least 12" in short.json()["detail"]
    assert "tooshort" not in short.text
    spaces = client.post(f"/admin/users/{user_id(people, OFFICER)}/password", json={"password": " " * 14})
    assert spaces.status_code == 400


# ---- administration ----


def test_only_administrators_administer(client: TestClient) -> None:
    sign_in(client)  # an investigator
    for method, path, body in (
        ("GET", "/admin/users", None),
        (
            "POST",
            "/admin/users",
            {"username": "x.y", "display_name": "X", "roles": ["officer"], "vetting": "BPSS"},
        ),
        ("GET", "/admin/agencies", None),
        ("POST", "/admin/agencies", {"code": "NEW", "name": "New", "kind": "police"}),
        ("GET", "/admin/tokens", None),
    ):
        response = client.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)


def test_an_administrator_manages_users(client: TestClient, people: Database) -> None:
    sign_in(client, ADMIN)
    new_user = {
        "username": "DC.Smith",
        "display_name": "DC Jo Smith",
        "roles": ["investigator", "officer"],
        "vetting": "NPPV3",
        "unit": "CID",
        "password": PASSWORD,
    }
    created = client.post("/admin/users", json=new_user)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["username"] == "dc.smith" and user["agency"] == "WYP" and user["vetting"] == "SECRET"
    assert (
        user["roles"] == ["investigator", "officer"] and "password_hash" not in user and user["has_password"]
    )
    assert client.post("/admin/users", json=new_user).status_code == 409
    bad_role = client.post("/admin/users", json={**new_user, "username": "dc.other", "roles": ["king"]})
    assert bad_role.status_code == 400 and "king" in bad_role.json()["detail"]
    bad_vetting = client.post("/admin/users", json={**new_user, "username": "dc.other", "vetting": "cosmic"})
    assert bad_vetting.status_code == 400 and "NPPV2" in bad_vetting.json()["detail"]
    bad_unit = client.post("/admin/users", json={**new_user, "username": "dc.other", "unit": "TRAFFIC"})
    assert bad_unit.status_code == 400 and "CID" in bad_unit.json()["detail"]

    changed = client.patch(
        f"/admin/users/{user['id']}", json={"roles": ["supervisor"], "vetting": "NPPV2", "unit": None}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["roles"], changed.json()["vetting"], changed.json()["unit"]) == (
        ["supervisor"],
        "OFFICIAL-SENSITIVE",
        None,
    )
    assert client.patch(f"/admin/users/{user['id']}", json={"roles": None}).status_code == 400
    assert client.get(f"/admin/users/{user['id']}").json()["roles"] == ["supervisor"]

    smith = fresh_client(people)
    sign_in(smith, "dc.smith")
    assert (
        client.post(f"/admin/users/{user['id']}/password", json={"password": OTHER_PASSWORD}).status_code
        == 200
    )
    assert smith.get("/auth/me").status_code == 401  # a new password ends the old sessions
    assert (
        fresh_client(people)
        .post("/auth/sign-in", json={"username": "dc.smith", "password": PASSWORD})
        .status_code
        == 401
    )
    sign_in(fresh_client(people), "dc.smith", OTHER_PASSWORD)

    seen = actions(people)
    for action in ("user-created", "user-updated", "password-set"):
        assert (action, ADMIN) in seen


def test_an_administrator_sees_only_their_own_agency(client: TestClient, people: Database) -> None:
    sign_in(client, CPS_ADMIN)
    officer = user_id(people, OFFICER)
    assert {u["username"] for u in client.get("/admin/users").json()["items"]} == {CPS_ADMIN}
    assert client.get(f"/admin/users/{officer}").status_code == 404
    assert client.get("/admin/users/no-such-user").status_code == 404
    assert client.patch(f"/admin/users/{officer}", json={"active": False}).status_code == 404
    assert (
        client.post(f"/admin/users/{officer}/password", json={"password": OTHER_PASSWORD}).status_code == 404
    )
    assert client.post(f"/admin/users/{officer}/unlock").status_code == 404
    other = {"username": "x.y", "display_name": "X", "agency": "WYP", "roles": ["officer"], "vetting": "BPSS"}
    assert client.post("/admin/users", json=other).status_code == 403
    assert client.post("/admin/agencies/WYP/units", json={"code": "T", "name": "Traffic"}).status_code == 403
    assert (
        client.post("/admin/tokens", json={"user": OFFICER, "name": "t", "scopes": ["read"]}).status_code
        == 404
    )
    with people.write() as conn:
        token_id, _ = authn.create_token(conn, officer, "wyp feed", ["read"], None, dt.datetime.now(dt.UTC))
    assert client.get("/admin/tokens").json()["items"] == []
    assert client.delete(f"/admin/tokens/{token_id}").status_code == 404
    # agencies themselves are for every administrator
    agencies = client.get("/admin/agencies").json()["items"]
    assert {a["code"] for a in agencies} == {"WYP", "CPSY"}
    assert next(a for a in agencies if a["code"] == "WYP")["units"] == [
        {"code": "CID", "name": "Criminal Investigation Department"}
    ]


def test_agencies_and_units(client: TestClient, people: Database) -> None:
    sign_in(client, ADMIN)
    made = client.post(
        "/admin/agencies", json={"code": "nyp", "name": "North Yorkshire Police", "kind": "police"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["code"] == "NYP"
    again = client.post("/admin/agencies", json={"code": "NYP", "name": "Again", "kind": "police"})
    assert again.status_code == 409
    kind = client.post("/admin/agencies", json={"code": "ZZ", "name": "Z", "kind": "army"})
    assert kind.status_code == 400 and "probation" in kind.json()["detail"]
    unit = client.post("/admin/agencies/WYP/units", json={"code": "TRAFFIC", "name": "Roads Policing"})
    assert unit.status_code == 201, unit.text
    assert (
        client.post("/admin/agencies/WYP/units", json={"code": "TRAFFIC", "name": "Again"}).status_code == 409
    )
    assert ("agency-created", ADMIN) in actions(people)


def test_the_last_administrator_cannot_remove_themselves(client: TestClient, people: Database) -> None:
    sign_in(client, ADMIN)
    me = user_id(people, ADMIN)
    response = client.patch(f"/admin/users/{me}", json={"roles": ["officer"]})
    assert response.status_code == 409 and "last active administrator" in response.json()["detail"]
    assert client.patch(f"/admin/users/{me}", json={"active": False}).status_code == 409


def test_administrators_manage_tokens_of_their_agency(client: TestClient, people: Database) -> None:
    sign_in(client, ADMIN)
    made = client.post(
        "/admin/tokens",
        json={"user": OFFICER, "name": "ANPR", "scopes": ["read", "write"], "purpose": "investigation"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["expires_at"] is None and made.json()["username"] == OFFICER
    too_wide = client.post("/admin/tokens", json={"user": OFFICER, "name": "x", "scopes": ["audit"]})
    assert too_wide.status_code == 400
    listed = client.get("/admin/tokens").json()["items"]
    assert [t["name"] for t in listed] == ["ANPR"] and made.json()["token"] not in json.dumps(listed)
    assert client.get("/admin/tokens", params={"user": OFFICER}).json()["items"][0]["id"] == made.json()["id"]
    system = fresh_client(people)
    assert system.get("/auth/me", headers=bearer(made.json()["token"])).status_code == 200
    assert client.delete(f"/admin/tokens/{made.json()['id']}").json()["status"] == "revoked"
    assert system.get("/auth/me", headers=bearer(made.json()["token"])).status_code == 401


def test_account_library_validation(people: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with people.write() as conn:
        with pytest.raises(BadRequest, match="unknown agency 'NOPE'"):
            accounts.create_user(conn, "a.b", "A B", "NOPE", ["officer"], "BPSS", None, now, "t")
        with pytest.raises(BadRequest, match="username"):
            accounts.create_user(conn, "has space", "A B", "WYP", ["officer"], "BPSS", None, now, "t")
        with pytest.raises(BadRequest, match="at least one role"):
            accounts.create_user(conn, "a.b", "A B", "WYP", [], "BPSS", None, now, "t")
        with pytest.raises(Conflict):
            accounts.create_user(conn, OFFICER.upper(), "Again", "WYP", ["officer"], "BPSS", None, now, "t")
        with pytest.raises(BadRequest, match="unknown agency kind"):
            accounts.create_agency(conn, "X", "X", "navy", now)
        with pytest.raises(Conflict):
            accounts.create_agency(conn, "wyp", "Again", "police", now)
        user = accounts.create_user(conn, "token.only", "Feed", "WYP", ["officer"], "NPPV1", None, now, "t")
    assert user["has_password"] is False and user["vetting"] == "OFFICIAL"
    with pytest.raises(Unauthorized, match="wrong username or password"), people.write() as conn:
        authn.sign_in(conn, "token.only", "", now)


# ---- the CLI ----


def test_cli_bootstraps_an_installation(db: Database) -> None:
    runner = CliRunner()
    url = ["--db", db.url]

    def run(app: Any, *args: str, input: str | None = None, code: int = 0) -> Any:
        result = runner.invoke(app, [*args, *url], input=input)
        assert result.exit_code == code, (args, result.output)
        return result

    run(agency_app, "add", "WYP", "--name", "West Yorkshire Police", "--kind", "police")
    run(agency_app, "add", "WYP", "--name", "Again", "--kind", "police", code=2)
    run(agency_app, "unit-add", "WYP", "CID", "--name", "CID")
    assert "WYP" in run(agency_app, "list").output
    run(
        user_app,
        "add",
        "admin.one",
        "--name",
        "Admin One",
        "--agency",
        "WYP",
        "--role",
        "administrator",
        "--vetting",
        "SC",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    run(
        user_app,
        "add",
        "pc.two",
        "--name",
        "PC Two",
        "--agency",
        "WYP",
        "--role",
        "officer",
        "--role",
        "investigator",
        "--vetting",
        "NPPV2",
        "--unit",
        "CID",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    short = run(
        user_app,
        "add",
        "pc.three",
        "--name",
        "PC Three",
        "--agency",
        "WYP",
        "--role",
        "officer",
        "--vetting",
        "NPPV2",
        "--password-stdin",
        input="short\n",
        code=2,
    )
    assert "at least 12" in " ".join(short.output.split())
    listed = json.loads(run(user_app, "list", "--agency", "WYP", "--json").stdout)
    assert [u["username"] for u in listed] == ["admin.one", "pc.two"]
    assert listed[1]["roles"] == ["investigator", "officer"] and listed[1]["unit"] == "CID"

    client = fresh_client(db)
    sign_in(client, "pc.two")
    run(user_app, "set-password", "pc.two", "--password-stdin", input=OTHER_PASSWORD + "\n")
    assert client.get("/auth/me").status_code == 401
    sign_in(client, "pc.two", OTHER_PASSWORD)

    run(user_app, "set-roles", "pc.two", "--role", "supervisor")
    run(user_app, "set-vetting", "pc.two", "DV")
    shown = json.loads(run(user_app, "show", "pc.two").stdout)
    assert shown["roles"] == ["supervisor"] and shown["vetting"] == "TOP-SECRET"
    run(user_app, "disable", "pc.two")
    assert (
        fresh_client(db)
        .post("/auth/sign-in", json={"username": "pc.two", "password": OTHER_PASSWORD})
        .status_code
        == 401
    )
    run(user_app, "enable", "pc.two")
    for _ in range(5):
        fresh_client(db).post("/auth/sign-in", json={"username": "pc.two", "password": "wrong wrong wrong"})
    assert "locked" in run(user_app, "list").output
    run(user_app, "unlock", "pc.two")
    sign_in(fresh_client(db), "pc.two", OTHER_PASSWORD)

    created = run(
        token_app,
        "create",
        "pc.two",
        "--name",
        "feed",
        "--scope",
        "read",
        "--purpose",
        "investigation",
        "--days",
        "7",
    )
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("ormsk_")
    me = fresh_client(db).get("/auth/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["purpose"] == "investigation"
    tokens = json.loads(run(token_app, "list", "--json").stdout)
    assert len(tokens) == 1 and token not in json.dumps(tokens)
    run(token_app, "revoke", tokens[0]["id"])
    assert fresh_client(db).get("/auth/me", headers=bearer(token)).status_code == 401
    run(token_app, "revoke", "nope", code=2)
    run(token_app, "create", "pc.two", "--name", "x", "--scope", "root", code=2)
    with db.read() as conn:
        assert ("user-created", "cli") in {
            (e["action"], e["actor"].split(":")[0]) for e in audit.entries(conn)
        }


# ---- OIDC ----

SETTINGS = oidc.OIDCSettings(issuer="https://idp.example/realms/police", client_id="openrms")


def test_claims_map_to_agency_roles_and_vetting() -> None:
    claims = {
        "iss": "https://idp.example/realms/police",
        "sub": "f3c1",
        "preferred_username": "Jo.Bloggs",
        "name": "Jo Bloggs",
        "agency": "wyp",
        "roles": ["investigator", "offline_access", "uma_authorization"],
        "vetting": "NPPV2",
    }
    user = oidc.user_from_claims(claims, SETTINGS, {"WYP"})
    assert user == {
        "external_id": "https://idp.example/realms/police|f3c1",
        "username": "jo.bloggs",
        "display_name": "Jo Bloggs",
        "agency": "WYP",
        "roles": ["investigator"],
        "vetting": "OFFICIAL-SENSITIVE",
    }
    no_vetting = oidc.user_from_claims({k: v for k, v in claims.items() if k != "vetting"}, SETTINGS)
    assert no_vetting["vetting"] == "OFFICIAL"


def test_claim_mapping_for_keycloak_and_entra() -> None:
    keycloak = oidc.OIDCSettings(
        issuer="https://kc/realms/p", client_id="c", roles_claim="realm_access.roles", agency_claim="agency"
    )
    claims = {"sub": "1", "agency": ["WYP"], "realm_access": {"roles": ["officer", "default-roles-p"]}}
    assert oidc.user_from_claims(claims, keycloak)["roles"] == ["officer"]
    entra = oidc.OIDCSettings(
        issuer="https://login.microsoftonline.com/t/v2.0",
        client_id="c",
        role_prefix="OpenRMS.",
        agency_claim="extn.agency",
        vetting_claim="extn.vetting",
        username_claim="upn",
    )
    claims = {
        "sub": "abc",
        "upn": "Jo.Bloggs@force.police.uk",
        "roles": ["OpenRMS.Investigator", "OpenRMS.Custody-Officer", "Other.App"],
        "extn.agency": "WYP",
        "extn.vetting": "SC",
    }
    user = oidc.user_from_claims(claims, entra)
    assert user["roles"] == ["custody_officer", "investigator"] and user["vetting"] == "SECRET"
    assert user["username"] == "jo.bloggs@force.police.uk"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sub": "1", "agency": "WYP", "roles": ["king", "offline_access"]}, "none of the roles"),
        ({"sub": "1", "agency": "WYP"}, "none of the roles"),
        ({"sub": "1", "roles": ["officer"]}, "which agency"),
        ({"sub": "1", "agency": "", "roles": ["officer"]}, "which agency"),
        ({"sub": "1", "agency": "MARS", "roles": ["officer"]}, "not an agency of this OpenRMS"),
        ({"sub": "1", "agency": ["WYP", "NYP"], "roles": ["officer"]}, "several agencies"),
        ({"sub": "1", "agency": "WYP", "roles": ["officer"], "vetting": "cosmic"}, "vetting"),
        ({"agency": "WYP", "roles": ["officer"]}, "subject"),
    ],
)
def test_claims_that_are_refused(claims: dict[str, Any], message: str) -> None:
    with pytest.raises(Forbidden, match=message):
        oidc.user_from_claims(claims, SETTINGS, {"WYP", "NYP"})


def test_oidc_routes_answer_404_when_not_configured(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENRMS_OIDC_ISSUER", raising=False)
    monkeypatch.delenv("OPENRMS_OIDC_CLIENT_ID", raising=False)
    for path in ("/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404
        assert response.json()["detail"] == "OIDC sign-in is not configured"


def test_provisioning_creates_then_updates_the_user(people: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": SETTINGS.issuer,
        "sub": "s-1",
        "preferred_username": "jo",
        "agency": "WYP",
        "roles": ["officer"],
    }
    with people.write() as conn:
        first = oidc.provision(conn, claims, now, SETTINGS)
    assert first.username == "jo" and first.roles == frozenset({"officer"}) and first.vetting == "OFFICIAL"
    with people.write() as conn:
        second = oidc.provision(conn, {**claims, "roles": ["supervisor"], "vetting": "SC"}, now, SETTINGS)
    assert (
        second.user_id == first.user_id
        and second.roles == frozenset({"supervisor"})
        and second.vetting == "SECRET"
    )
    with people.read() as conn:
        user = accounts.get_user(conn, "jo")
    assert user["external"] and not user["has_password"]
    # a local account's username is never taken over by a provider's user
    with pytest.raises(Conflict), people.write() as conn:
        oidc.provision(conn, {**claims, "sub": "s-2", "preferred_username": OFFICER}, now, SETTINGS)
    # nor does the provider re-enable an account disabled here
    with people.write() as conn:
        accounts.update_user(conn, first.user_id, now, "tests", active=False)
    with pytest.raises(Forbidden, match="disabled"), people.write() as conn:
        oidc.provision(conn, claims, now, SETTINGS)


class FakeProvider:
    """Just enough of an OpenID provider for Authlib: discovery, JWKS and a token endpoint whose ID token
    carries the nonce from the authorisation request."""

    issuer = "https://idp.example/realms/police"

    def __init__(self, claims: dict[str, Any]) -> None:
        from joserfc.jwk import RSAKey

        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.claims = claims
        self.nonce: str | None = None
        self.token_requests: list[dict[str, list[str]]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        from joserfc import jwt

        url = str(request.url)
        if url == f"{self.issuer}/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/auth",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/certs",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if url == f"{self.issuer}/certs":
            return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
        if url == f"{self.issuer}/token":
            self.token_requests.append(parse_qs(request.content.decode()))
            now = int(dt.datetime.now(dt.UTC).timestamp())
            claims = {"iss": self.issuer, "aud": "openrms", "iat": now, "exp": now + 300, "nonce": self.nonce}
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, {**claims, **self.claims}, self.key)
            return httpx.Response(
                200, json={"access_token": "at", "token_type": "Bearer", "id_token": id_token}
            )
        return httpx.Response(404)


def test_a_whole_oidc_sign_in(client: TestClient, people: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = FakeProvider(
        {"sub": "u-42", "preferred_username": "dc.oidc", "agency": "WYP", "roles": ["investigator"]}
    )
    monkeypatch.setenv("OPENRMS_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("OPENRMS_OIDC_CLIENT_ID", "openrms")
    monkeypatch.setenv("OPENRMS_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setattr(oidc, "TRANSPORT", httpx.MockTransport(provider.handle))

    login = client.get("/auth/oidc/login", params={"next": "/auth/me"}, follow_redirects=False)
    assert login.status_code == 302, login.text
    target = urlsplit(login.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert target.netloc == "idp.example" and query["client_id"] == "openrms"
    assert query["code_challenge_method"] == "S256" and query["redirect_uri"].endswith("/auth/oidc/callback")
    provider.nonce = query["nonce"]

    forged = client.get(
        "/auth/oidc/callback", params={"code": "c", "state": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 401

    # the forged attempt did not consume the real state: sign in again to get a fresh one
    login = client.get("/auth/oidc/login", params={"next": "/auth/me"}, follow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["location"]).query).items()}
    provider.nonce = query["nonce"]
    back = client.get(
        "/auth/oidc/callback", params={"code": "c", "state": query["state"]}, follow_redirects=False
    )
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/auth/me"
    assert provider.token_requests[-1]["code_verifier"]  # PKCE
    me = client.get("/auth/me")
    assert me.status_code == 200, me.text
    assert (me.json()["user"], me.json()["agency"], me.json()["roles"]) == (
        "dc.oidc",
        "WYP",
        ["investigator"],
    )
    assert ("sign-in", "dc.oidc") in actions(people)

    # a replayed callback (state already used) is refused
    replay = client.get(
        "/auth/oidc/callback", params={"code": "c", "state": query["state"]}, follow_redirects=False
    )
    assert replay.status_code == 401


def test_oidc_refuses_a_user_without_a_known_role(
    client: TestClient, people: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = FakeProvider({"sub": "u-43", "agency": "WYP", "roles": ["viewer"]})
    monkeypatch.setenv("OPENRMS_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("OPENRMS_OIDC_CLIENT_ID", "openrms")
    monkeypatch.setattr(oidc, "TRANSPORT", httpx.MockTransport(provider.handle))
    login = client.get("/auth/oidc/login", follow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["location"]).query).items()}
    provider.nonce = query["nonce"]
    back = client.get(
        "/auth/oidc/callback", params={"code": "c", "state": query["state"]}, follow_redirects=False
    )
    assert back.status_code == 403 and "none of the roles" in back.json()["detail"]
    assert authn.SESSION_COOKIE not in back.headers.get("set-cookie", "")
    assert ("sign-in-failed", "u-43") in actions(people)


def test_oidc_with_an_unreachable_provider_is_502(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setenv("OPENRMS_OIDC_ISSUER", "https://down.example")
    monkeypatch.setenv("OPENRMS_OIDC_CLIENT_ID", "openrms")
    monkeypatch.setattr(oidc, "TRANSPORT", httpx.MockTransport(down))
    response = client.get("/auth/oidc/login", follow_redirects=False)
    assert response.status_code == 502 and "down.example" in response.json()["detail"]


# ---- garbage credentials ----

_HEADER_TEXT = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + "-._~+/=!#$%&'*^`|:@[]{}<>?"),
    max_size=300,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    token=st.one_of(_HEADER_TEXT, _HEADER_TEXT.map(lambda t: "ormsk_" + t)),
    cookie=_HEADER_TEXT.filter(bool),
    route=st.sampled_from(
        [
            ("GET", "/auth/me"),
            ("POST", "/auth/purpose"),
            ("POST", "/auth/sign-out"),
            ("POST", "/auth/tokens"),
            ("DELETE", "/auth/tokens/x"),
            ("GET", "/admin/users"),
            ("PATCH", "/admin/users/x"),
        ]
    ),
)
def test_garbage_credentials_are_always_401(client: TestClient, token: str, cookie: str, route: Any) -> None:
    method, path = route
    by_token = client.request(method, path, headers={"Authorization": f"Bearer {token}"}, json={})
    assert by_token.status_code == 401, by_token.text
    by_cookie = client.request(method, path, headers={"Cookie": f"{authn.SESSION_COOKIE}={cookie}"}, json={})
    assert by_cookie.status_code == 401, by_cookie.text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=st.text(max_size=150), password=st.text(max_size=60))
def test_garbage_sign_ins_are_never_a_server_error(client: TestClient, username: str, password: str) -> None:
    response = client.post("/auth/sign-in", json={"username": username, "password": password})
    assert response.status_code in (400, 401, 422), response.text


def test_subject_for_a_token_carries_the_token_scopes(people: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with people.write() as conn:
        _, token = authn.create_token(conn, user_id(people, OFFICER), "t", ["read"], "intelligence", now)
    with people.read() as conn:
        subject = authn.authenticate_token(conn, token, now)
    assert isinstance(subject, Subject)
    assert (
        subject.scopes == frozenset({"read"}) and subject.via == "token" and subject.purpose == "intelligence"
    )
    assert subject.can("read") and not subject.can("create")  # an investigator, limited by the token


def test_an_outdated_hash_is_redone_at_sign_in(people: Database) -> None:
    """A hash made with older, weaker parameters (of a password from before the 12-character policy)
    still signs its owner in, and is replaced by one with today's parameters."""
    from argon2 import PasswordHasher
    from sqlalchemy import update

    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("short")
    with people.write() as conn:
        conn.execute(update(user_account).where(user_account.c.username == OFFICER).values(password_hash=old))
    with people.write() as conn:
        authn.sign_in(conn, OFFICER, "short", dt.datetime.now(dt.UTC))
    with people.read() as conn:
        new = conn.execute(
            select(user_account.c.password_hash).where(user_account.c.username == OFFICER)
        ).scalar()
    assert new != old and new.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
