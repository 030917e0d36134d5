"""A real browser against a real server: an auditor signs in, finds who saw a record and verifies the audit
chain; an administrator opens an import run and one of its quarantined rows, discards it, downloads the
others and retries them. axe-core finds no serious or critical violations on those pages. Screenshots go
to test-artifacts/browser/admin-*.png."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openrms.access import accounts, audit
from openrms.ingest import service
from openrms.store.database import Database
from tests.browser.conftest import Server, axe_violations, screenshot, watch_errors
from tests.web.conftest import PASSWORD

CUSTODY = Path(__file__).resolve().parents[2] / "docs" / "examples" / "custody-export.dat"


@pytest.fixture
def served_db(server: Server, tmp_path: Path) -> Iterator[Database]:
    """The server's own database file (the `server` fixture serves tmp_path/openrms.db)."""
    db = Database(f"sqlite:///{tmp_path / 'openrms.db'}")
    yield db
    db.dispose()


def add_user(db: Database, username: str, role: str) -> None:
    with db.write() as conn:
        accounts.create_user(
            conn, username, username, "WYP", [role], "NPPV3", PASSWORD, dt.datetime.now(dt.UTC), "tests"
        )


def sign_in(page: Any, server: Server, target: str, username: str, purpose: str) -> None:
    page.goto(f"{server.url}{target}")
    assert "/ui/sign-in" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/purpose**")
    page.get_by_label(purpose).check()
    page.get_by_label("Reason or reference (optional)").fill("Quarterly review")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"**{target}")


def test_auditor_finds_who_saw_a_record_and_verifies_the_chain(
    page: Any, server: Server, served_db: Database
) -> None:
    crime = server.ids["crime"]
    add_user(served_db, "auditor.jones", "auditor")
    with served_db.write() as conn:
        audit.append(
            conn,
            actor="pc1234",
            agency="WYP",
            action="read",
            purpose="investigation",
            reason="Crime 13/1234/18",
            record_ids=[crime],
        )
    errors = watch_errors(page)
    sign_in(page, server, "/ui/audit", "auditor.jones", "Auditing access")
    screenshot(page, "admin-01-audit-form")

    page.get_by_label("Record ID").fill(crime)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**/ui/audit?**")
    rows = page.locator("table.app-audit-entries tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "pc1234" in text and "Investigating an offence" in text and "Crime 13/1234/18" in text
    screenshot(page, "admin-02-who-saw")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Verify the chain").click()
    page.wait_for_url("**/ui/audit/verify**")
    assert "OK: the audit trail is intact" in page.locator("#verify-result").inner_text()
    screenshot(page, "admin-03-verified")
    assert axe_violations(page) == []
    assert errors == [], errors


def test_administrator_opens_an_import_run_and_a_quarantined_row(
    page: Any, server: Server, served_db: Database
) -> None:
    add_user(served_db, "admin.smith", "administrator")
    report = service.import_source(served_db, CUSTODY, "custody-fixed-width", agency="WYP", workers=0)
    errors = watch_errors(page)
    sign_in(page, server, "/ui/imports", "admin.smith", "Administering the system")
    assert page.locator("h1").inner_text() == "Imports"
    screenshot(page, "admin-04-imports")
    assert axe_violations(page) == []

    page.locator("table.app-runs tbody a").first.click()
    page.wait_for_url(f"**/ui/imports/{report.run_id}")
    assert page.locator("h1").inner_text() == "custody-export.dat"
    quarantined = page.locator("#quarantine ~ table tbody tr")
    assert quarantined.count() == 5
    assert "is not a real date and time" in page.content()
    screenshot(page, "admin-05-import-run")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Row 14", exact=True).click()
    page.wait_for_url("**/rows/**")
    assert "WRIGHT, Stacey" in page.locator("pre.app-raw-row").inner_text()
    screenshot(page, "admin-06-quarantined-row")
    assert axe_violations(page) == []

    # the date is wrong in the custody system itself: discard the row, saying why
    page.get_by_role("button", name="Discard this row").click()
    assert "Say why these rows should not be imported" in page.locator(".govuk-error-summary").inner_text()
    assert axe_violations(page) == []
    assert errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    errors.clear()  # that 400 was the form's answer, as it should be
    page.get_by_label("Why this row should not be imported").fill("Corrected in CMS3; due in the next export")
    page.get_by_role("button", name="Discard this row").click()
    page.wait_for_url("**done=discard**")
    assert "Discarded 1 row." in page.locator("#done-banner").inner_text()
    screenshot(page, "admin-07-row-discarded")
    assert axe_violations(page) == []

    # the other four go back for a retry with the run's mapping, and out as a spreadsheet
    page.get_by_role("link", name="Run " + str(report.run_id)).click()
    page.wait_for_url(f"**/ui/imports/{report.run_id}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the open rows as a spreadsheet (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("entry,run,row,location,status,reasons,raw,CUSTODY_NO")
    assert text.count(",open,") == 4 and "WRIGHT, Stacey" not in text  # the four open rows only
    page.get_by_role("button", name="Retry the 4 open rows").click()
    page.wait_for_url("**done=retry**")
    assert "Retried 3 rows: 0 now imported, 3 still quarantined" in page.locator("#done-banner").inner_text()
    screenshot(page, "admin-08-rows-retried")
    assert axe_violations(page) == []
    assert errors == [], errors
