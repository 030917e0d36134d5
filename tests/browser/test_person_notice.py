"""A real browser on a person another agency also holds a record of: the profile says whom to contact,
keyboard users reach the involvements from the section links, and axe-core finds no serious or critical
accessibility violations. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openrms.access import accounts
from openrms.store.database import Database
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.store.tables import record
from tests.browser.conftest import Server, axe_violations, screenshot, sign_in, watch_errors

JOHN = {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02", "pnc_id": "05/123456R"}


@pytest.fixture
def shared_server(server: Server, tmp_path: Path) -> Server:
    """The seeded server, plus North Yorkshire Police's record of the same man (not shared with WYP),
    written to the server's database file (the `server` fixture's, in this test's tmp_path)."""
    db = Database(f"sqlite:///{tmp_path / 'openrms.db'}")
    try:
        with db.write() as conn:
            accounts.create_agency(conn, "NYP", "North Yorkshire Police", "police", dt.datetime.now(dt.UTC))
            prov = Provenance("NYP", "RMS", "DC 9", "n1")
            (made,) = create_records(conn, [NewRecord("person", JOHN, prov)])
            masters = set(
                conn.execute(
                    select(record.c.master_id).where(record.c.id.in_([server.ids["john"], made.id]))
                ).scalars()
            )
    finally:
        db.dispose()
    assert len(masters) == 1, "NYP's record should resolve to the same man"
    server.ids["nyp"] = made.id
    return server


def test_profile_says_whom_to_contact_about_a_hidden_record(page: Any, shared_server: Server) -> None:
    errors = watch_errors(page)
    sign_in(page, shared_server, f"/ui/people/{shared_server.ids['john']}")
    page.wait_for_url("**/ui/people/**")

    notice = page.locator("#restricted-notice")
    assert notice.is_visible()
    assert "contact North Yorkshire Police (NYP)." in notice.inner_text()
    assert shared_server.ids["nyp"] not in page.content()
    screenshot(page, "profile-01-restricted-notice")

    # the section links work from the keyboard
    page.get_by_role("link", name="Involvements (1)").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**#involvements")
    assert page.get_by_role("link", name="Burglary", exact=False).first.is_visible()
    screenshot(page, "profile-02-involvements")

    assert axe_violations(page) == []
    assert errors == [], errors


def test_another_agencys_record_is_not_found_like_a_missing_one(page: Any, shared_server: Server) -> None:
    """A WYP officer given the address of NYP's unshared record sees what a made-up id shows: not found,
    with nothing of the record on the page."""
    errors = watch_errors(page)
    hidden_id = shared_server.ids["nyp"]
    sign_in(page, shared_server, f"/ui/records/{hidden_id}")
    page.wait_for_url(f"**/ui/records/{hidden_id}")
    assert page.locator("h1").inner_text().strip() == "Not found"
    assert "Smith" not in page.locator("main").inner_text()
    screenshot(page, "profile-03-other-agency-not-found")
    hidden_page = page.locator("main").inner_text().replace(hidden_id, "ID")

    missing_id = "rec-does-not-exist"
    page.goto(f"{shared_server.url}/ui/records/{missing_id}")
    assert page.locator("h1").inner_text().strip() == "Not found"
    assert page.locator("main").inner_text().replace(missing_id, "ID") == hidden_page
    assert axe_violations(page) == []
    assert errors == [] or all("404" in e for e in errors), errors
