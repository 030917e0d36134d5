"""A real browser types a duplicate of a seeded person into the new-person form, sees the possible-matches
panel update as they type, chooses the existing master and lands on its profile, with no new person
recorded. axe-core finds no serious or critical violations on the form with the panel filled. Screenshots
of each step go to test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from openrms.store.database import Database
from openrms.store.tables import record
from tests.browser.conftest import Server, axe_violations, screenshot, sign_in, watch_errors
from tests.web.conftest import PASSWORD, USERNAME


def person_records(tmp_path: Path) -> int:
    """Person records in the server's database (the `server` fixture serves tmp_path/openrms.db)."""
    db = Database(f"sqlite:///{tmp_path / 'openrms.db'}")
    try:
        with db.read() as conn:
            return conn.execute(
                select(func.count()).select_from(record).where(record.c.entity_type == "person")
            ).scalar_one()
    finally:
        db.dispose()


def test_duplicate_person_is_offered_the_existing_master(page: Any, server: Server, tmp_path: Path) -> None:
    before = person_records(tmp_path)
    errors = watch_errors(page)
    sign_in(page, server, "/ui/records/new")
    page.wait_for_url("**/ui/records/new")
    screenshot(page, "entry-01-choose")
    page.get_by_role("link", name="Person", exact=True).click()
    page.wait_for_url("**/ui/records/new/person")
    assert "As you type" in page.locator("#possible-matches").inner_text()
    screenshot(page, "entry-02-empty-form")

    page.get_by_label("Forename(s)").press_sequentially("Jon", delay=20)
    page.get_by_label("Surname").press_sequentially("Smyth", delay=20)
    page.get_by_label("Day").first.fill("2")
    page.get_by_label("Month").first.fill("3")
    page.get_by_label("Year").first.press_sequentially("1985", delay=20)
    use = page.locator("#possible-matches").get_by_role("link", name="Use this person")
    use.first.wait_for()
    panel = page.locator("#possible-matches").inner_text()
    assert "Smith" in panel and "2 March 1985" in panel
    assert "possible match" in page.locator("#possible-matches-status").inner_text()
    screenshot(page, "entry-03-possible-match")
    assert axe_violations(page) == []

    use.first.click()
    page.wait_for_url("**/ui/people/**")
    assert "Smith" in page.locator("h1").inner_text()
    screenshot(page, "entry-04-existing-profile")
    assert person_records(tmp_path) == before  # nothing was created
    assert errors == [], errors


def test_crime_suspect_is_linked_to_the_existing_person(page: Any, server: Server, tmp_path: Path) -> None:
    before = person_records(tmp_path)
    page.goto(f"{server.url}/ui/sign-in?next=/ui/records/new/crime")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Investigating an offence").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/ui/records/new/crime")
    page.get_by_label("Crime type (required)").select_option("ROBBERY")
    page.get_by_label("Reference number").fill("13/777/24")
    suspect = page.locator(".app-suspect-fields")
    suspect.get_by_label("Forename(s)").press_sequentially("Jon", delay=20)
    suspect.get_by_label("Surname").press_sequentially("Smyth", delay=20)
    suspect.get_by_label("Year").press_sequentially("1985", delay=20)
    choice = page.locator("#suspect-matches").get_by_label("Use this person", exact=False)
    choice.first.wait_for()
    choice.first.check()
    screenshot(page, "entry-05-crime-suspect-chosen")
    page.get_by_role("button", name="Save record").click()
    page.wait_for_url("**/ui/records/**")
    assert "Suspect in" in page.content() or "Smith" in page.content()
    screenshot(page, "entry-06-crime-saved")
    assert person_records(tmp_path) == before
