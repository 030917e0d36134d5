"""The web UI, like the API, puts what it shows on the audit trail with the purpose and reason, and asks
for a reason before a search (or a sensitive record) when the session has none."""

from __future__ import annotations

from fastapi.testclient import TestClient

from openrms.access import audit
from openrms.store.database import Database
from tests.web.conftest import USERNAME, hidden, sign_in


def test_a_search_without_a_reason_asks_for_one_then_runs(
    client: TestClient, auth: str, seeded: dict[str, str], db: Database
) -> None:
    sign_in(client, reason="")
    asked = client.get("/ui/search?q=smith")
    assert asked.status_code == 403
    assert "Why are you searching?" in asked.text
    assert "John" not in asked.text  # nothing is shown before a reason is given
    token = hidden(asked.text, "csrf_token")

    blank = client.post(
        "/ui/purpose",
        data={
            "purpose": "investigation",
            "reason": " ",
            "reason_required": "1",
            "csrf_token": token,
            "next": "/ui/search?q=smith",
        },
    )
    assert blank.status_code == 400
    assert "Enter a reason" in blank.text

    given = client.post(
        "/ui/purpose",
        data={
            "purpose": "investigation",
            "reason": "Crime 13/1234/18",
            "reason_required": "1",
            "csrf_token": token,
            "next": "/ui/search?q=smith",
        },
    )
    assert given.status_code == 303
    assert given.headers["location"] == "/ui/search?q=smith"
    found = client.get("/ui/search?q=smith")
    assert found.status_code == 200
    assert "Smith" in found.text


def test_searches_and_views_are_audited_with_purpose_and_reason(
    signed_in: TestClient, seeded: dict[str, str], db: Database
) -> None:
    assert signed_in.get("/ui/search?q=smith").status_code == 200
    assert signed_in.get(f"/ui/records/{seeded['crime']}").status_code == 200
    assert signed_in.get(f"/ui/people/{seeded['john']}", follow_redirects=True).status_code == 200
    with db.read() as conn:
        done = audit.by_user(conn, USERNAME)
        saw_crime = audit.who_saw(conn, seeded["crime"])
    actions = [e["action"] for e in done]
    assert {"search", "read", "read-master"} <= set(actions)
    search = next(e for e in done if e["action"] == "search")
    assert search["purpose"] == "investigation" and search["reason"] == "Op TEST"
    assert seeded["john"] in search["record_ids"]
    person = next(e for e in done if e["action"] == "read-master")
    assert {seeded["john"], seeded["johnny"], seeded["crime"]} <= set(person["record_ids"])
    assert {e["actor"] for e in saw_crime} == {USERNAME}
