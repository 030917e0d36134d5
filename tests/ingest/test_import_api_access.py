"""Who may see and work which import runs and quarantined rows through the imports API, on each back end.

Quarantine holds raw source rows (names, dates of birth, PNC IDs that failed validation), so it is guarded
as records are: an importer sees only their own agency's runs and rows (another agency's answer as missing
ones do), reading rows needs a declared purpose, and every read, retry and discard is audited. The command
line, run by the server's operators, still sees every agency's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from openrms.access import audit
from openrms.api.app import create_app
from openrms.cli import app
from openrms.store.database import Database
from openrms.store.tables import record, record_version
from tests.helpers import user_token

CUSTODY = Path(__file__).resolve().parents[2] / "docs" / "examples" / "custody-export.dat"


def importer(db: Database, username: str, agency: str, purpose: str | None = "data_quality") -> TestClient:
    """An API client for an administrator of `agency` whose write-scoped token carries `purpose`."""
    client = TestClient(create_app(db), raise_server_exceptions=False)
    token = user_token(
        db, username, agency=agency, roles=("administrator",), purpose=purpose, scopes=("write",)
    )
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture
def wyp(db: Database) -> Iterator[TestClient]:
    with importer(db, "admin.wyp", "WYP") as client:
        yield client


@pytest.fixture
def nyp(db: Database) -> Iterator[TestClient]:
    with importer(db, "admin.nyp", "NYP") as client:
        yield client


def upload_custody(client: TestClient) -> dict[str, Any]:
    with CUSTODY.open("rb") as f:
        response = client.post(
            "/imports", files={"file": ("custody-export.dat", f)}, data={"mapping": "custody-fixed-width"}
        )
    assert response.status_code == 200, response.text
    return response.json()


def open_rows(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/quarantine", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_another_agencys_runs_and_rows_answer_as_missing_ones(
    db: Database, wyp: TestClient, nyp: TestClient
) -> None:
    run = upload_custody(wyp)["run_id"]
    rows = open_rows(wyp)
    assert len(rows) == 5 and {r["run_id"] for r in rows} == {run}
    entry = rows[0]["id"]

    assert nyp.get("/imports").json()["items"] == []
    assert nyp.get(f"/imports/{run}").status_code == 404
    assert open_rows(nyp) == [] and open_rows(nyp, run_id=run) == []
    assert open_rows(nyp, status="discarded") == []
    response = nyp.get(f"/quarantine/{entry}")
    assert response.status_code == 404 and response.json()["detail"] == f"no quarantine entry {entry}"

    response = nyp.post("/quarantine/retry", json={"run_id": run})
    assert response.status_code == 404 and response.json()["detail"] == f"no import run {run}"
    assert nyp.post("/quarantine/retry", json={"entry_ids": [entry]}).json()["retried"] == 0
    response = nyp.post("/quarantine/discard", json={"run_id": run, "reason": "not ours"})
    assert response.status_code == 404 and response.json()["detail"] == f"no import run {run}"
    response = nyp.post("/quarantine/discard", json={"entry_ids": [r["id"] for r in rows], "reason": "x" * 3})
    assert response.status_code == 200 and response.json() == {"discarded": 0}

    assert len(open_rows(wyp)) == 5, "another agency's retry or discard touched the rows"
    assert [r["id"] for r in wyp.get("/imports").json()["items"]] == [run]
    assert wyp.get(f"/quarantine/{entry}").json()["raw"]

    nyp_run = upload_custody(nyp)["run_id"]
    assert [r["id"] for r in nyp.get("/imports").json()["items"]] == [nyp_run]
    assert [r["id"] for r in wyp.get("/imports").json()["items"]] == [run]
    assert {r["run_id"] for r in open_rows(nyp)} == {nyp_run}
    response = wyp.post("/quarantine/discard", json={"run_id": run, "reason": "corrected in CMS3"})
    assert response.json() == {"discarded": 5}
    assert len(open_rows(nyp)) == 5, "one agency's discard by run closed another's rows"

    listed = CliRunner().invoke(app, ["import", "runs", "--json", "--db", db.url])
    assert listed.exit_code == 0, listed.output
    assert {r["id"] for r in json.loads(listed.stdout)} == {run, nyp_run}  # the operators see every agency


def test_reading_quarantined_rows_needs_a_purpose_and_is_audited(db: Database) -> None:
    with importer(db, "admin.wyp", "WYP", purpose=None) as client:
        run = upload_custody(client)["run_id"]
        assert client.get("/imports").status_code == 200  # figures, no row content: no purpose needed
        response = client.get("/quarantine")
        assert response.status_code == 400
        assert response.json()["detail"].startswith("declare your purpose of access")
        client.headers["X-OpenRMS-Purpose"] = "data_quality"
        client.headers["X-OpenRMS-Reason"] = "cleansing the CMS3 migration"
        rows = open_rows(client, run_id=run)
        assert client.get(f"/quarantine/{rows[0]['id']}").status_code == 200
        retried = client.post("/quarantine/retry", json={"run_id": run}).json()
        assert (retried["retried"], retried["still_open"], retried["unparsed"]) == (4, 4, 1)
        discard = {"entry_ids": [rows[0]["id"]], "reason": "corrected in CMS3"}
        assert client.post("/quarantine/discard", json=discard).json() == {"discarded": 1}

    with db.read() as conn:
        reads = audit.entries(conn, actor="admin.wyp", action="quarantine-read")
        retries = audit.entries(conn, actor="admin.wyp", action="quarantine-retry")
        discards = audit.entries(conn, actor="admin.wyp", action="quarantine-discard")
    assert [r["detail"]["returned"] for r in reads[:1]] == [5] and reads[1]["detail"]["entry"] == rows[0][
        "id"
    ]
    assert {r["purpose"] for r in reads} == {"data_quality"}
    assert {r["reason"] for r in reads} == {"cleansing the CMS3 migration"}
    assert retries[0]["detail"]["retried"] == 4 and retries[0]["agency"] == "WYP"
    assert discards[0]["detail"]["discarded"] == 1


def test_a_discard_is_recorded_as_the_caller_unless_named(db: Database, wyp: TestClient) -> None:
    upload_custody(wyp)
    first, second = (r["id"] for r in open_rows(wyp)[:2])
    wyp.post("/quarantine/discard", json={"entry_ids": [first], "reason": "duplicate of LD/19/000101"})
    wyp.post("/quarantine/discard", json={"entry_ids": [second], "reason": "corrected", "by": "DC 4521"})
    assert wyp.get(f"/quarantine/{first}").json()["resolved_by"] == "admin.wyp"
    assert wyp.get(f"/quarantine/{second}").json()["resolved_by"] == "DC 4521"


def test_an_unknown_run_is_an_error_for_retry_and_discard(db: Database, wyp: TestClient) -> None:
    for path, body in (("retry", {}), ("discard", {"reason": "typo"})):
        response = wyp.post(f"/quarantine/{path}", json={"run_id": "no-such-run", **body})
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "no import run no-such-run"
    for command in (
        ["retry", "--run", "no-such-run"],
        ["discard", "--run", "no-such-run", "--reason", "typo"],
    ):
        result = CliRunner().invoke(app, ["quarantine", *command, "--db", db.url])
        assert result.exit_code != 0 and "no import run no-such-run" in result.output


def test_a_token_without_the_write_scope_is_told_which_scope_imports_need(db: Database) -> None:
    admin_only = user_token(db, "admin.wyp", roles=("administrator",), scopes=("admin",))
    analyst = user_token(db, "analyst.wyp", roles=("analyst",), scopes=("read", "write"))
    with TestClient(create_app(db), raise_server_exceptions=False) as client:
        response = client.get("/imports", headers={"Authorization": f"Bearer {admin_only}"})
        assert response.status_code == 403
        assert response.json()["detail"] == (
            "this token's scopes (admin) do not allow 'import': it needs a token with the 'write' scope "
            "(openrms token create ... --scope write)"
        )
        response = client.get("/imports", headers={"Authorization": f"Bearer {analyst}"})
        assert response.status_code == 403
        assert response.json()["detail"] == "your roles (analyst) do not allow 'import'"


def test_an_upload_is_recorded_as_the_caller_and_warns_when_the_mapping_names_another_agency(
    db: Database, wyp: TestClient, nyp: TestClient
) -> None:
    """Regression test (fixed: src/openrms/api/routers/imports.py `upload`, `push`, `retry`): records
    imported over HTTP were recorded_by "api-import" whoever sent them, and a mapping naming another
    agency (custody-fixed-width says WYP) was silently imported as the caller's, with no warning."""
    own = upload_custody(wyp)
    assert not any("the mapping says agency" in w for w in own["warnings"])
    other = upload_custody(nyp)
    assert other["warnings"][0] == (
        "the mapping says agency WYP; over the API records are imported for your own agency, NYP, so these "
        "are NYP's"
    )
    with db.read() as conn:
        makers = conn.execute(
            select(record.c.agency, record_version.c.recorded_by)
            .join(record_version, record_version.c.record_id == record.c.id)
            .distinct()
            .order_by(record.c.agency)
        ).all()
    assert [tuple(m) for m in makers] == [("NYP", "admin.nyp"), ("WYP", "admin.wyp")]
    with CUSTODY.open("rb") as f:
        shown = nyp.post(
            "/imports",
            files={"file": ("custody-export.dat", f)},
            data={"mapping": "custody-fixed-width", "preview": "1"},
        ).json()
    assert shown["warnings"] == other["warnings"][:1]
