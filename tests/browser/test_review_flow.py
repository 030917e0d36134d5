"""A real browser against a real server: a supervisor opens the review queue, compares a doubtful pair,
merges it after the confirmation of its effect, then undoes the merge; the profile shows the two records
apart again. axe-core finds no serious or critical violations on the queue, pair and confirmation pages.
Screenshots of each step go to test-artifacts/browser/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openrms.access import accounts
from openrms.store.database import Database
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from tests.browser.conftest import Server, axe_violations, screenshot, watch_errors
from tests.web.conftest import PASSWORD

SUPERVISOR = "sgt.review"


def _doubtful_pair(tmp_path: Path) -> dict[str, str]:
    """A supervisor, and two records of Peter Quill the model leaves for review (one has a year of birth
    only), written into the server's database file."""
    db = Database(f"sqlite:///{tmp_path / 'openrms.db'}")
    try:
        with db.write() as conn:
            now = dt.datetime.now(dt.UTC)
            accounts.create_user(
                conn, SUPERVISOR, "Sgt Review", "WYP", ["supervisor"], "NPPV3", PASSWORD, now, "t"
            )
        people = [
            (
                {"forenames": "Peter", "surname": "Quill", "date_of_birth": "1970-05-06", "gender": "M"},
                "NICHE",
            ),
            ({"forenames": "Peter", "surname": "Quill", "date_of_birth": "1970"}, "CUSTODY"),
        ]
        made = []
        for data, system in people:
            prov = Provenance(
                agency="WYP", source_system=system, recorded_by="PC 1", source_key=system.lower()
            )
            with db.write() as conn:
                made += create_records(conn, [NewRecord("person", data, prov)])
    finally:
        db.dispose()
    return {"a": made[0].id, "b": made[1].id, "ma": made[0].master_id, "mb": made[1].master_id}


def test_merge_from_the_queue_then_undo(page: Any, server: Server, tmp_path: Path) -> None:
    pair = _doubtful_pair(tmp_path)
    errors = watch_errors(page)

    page.goto(f"{server.url}/ui/sign-in?next=/ui/review")
    page.get_by_label("Username").fill(SUPERVISOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Investigating an offence").check()
    page.get_by_label("Reason or reference").fill("Op QUILL")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/ui/review")
    queue = page.locator("#review-queue")
    assert "Quill" in queue.inner_text()
    screenshot(page, "review-01-queue")
    assert axe_violations(page) == []

    queue.get_by_role("link", name="Compare").first.click()
    page.wait_for_url("**/ui/review/**")
    assert page.locator(".app-compare__differs").count() >= 1
    assert "Differs" in page.locator(".app-compare__differs").first.inner_text()
    screenshot(page, "review-02-pair")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Merge these two person records").click()
    page.wait_for_url("**/merge?with=**")
    assert page.get_by_role("heading", name="Check before you merge").is_visible()
    assert pair["a"] in page.content() and pair["b"] in page.content()
    screenshot(page, "review-03-merge-confirm")
    assert axe_violations(page) == []
    page.get_by_label("Reason (optional)").fill("Same man, same address")
    page.get_by_role("button", name="Merge into one person").click()
    page.wait_for_url("**/ui/masters/**?done=merge")
    assert "Merged" in page.locator("#done-banner").inner_text()
    assert page.locator("#members tbody tr").count() == 2
    screenshot(page, "review-04-merged")

    page.goto(f"{server.url}/ui/people/{pair['ma']}")
    assert page.locator("#sources ~ table tbody tr").count() == 2
    screenshot(page, "review-05-profile-merged")
    page.get_by_role("link", name="Merge or split").click()
    page.wait_for_url(f"**/ui/masters/{pair['ma']}")

    page.locator("#events").get_by_role("link", name="Undo").click()
    page.wait_for_url("**/undo?master=**")
    screenshot(page, "review-06-undo-confirm")
    page.get_by_role("button", name="Undo this change").click()
    page.wait_for_url("**?done=undo")
    assert "Undone" in page.locator("#done-banner").inner_text()
    assert page.locator("#members tbody tr").count() == 1
    screenshot(page, "review-07-undone")

    page.goto(f"{server.url}/ui/people/{pair['ma']}")
    sources = page.locator("#sources ~ table").inner_text()
    assert page.locator("#sources ~ table tbody tr").count() == 1 and "NICHE" in sources
    screenshot(page, "review-08-profile-apart")
    page.goto(f"{server.url}/ui/people/{pair['mb']}")
    assert "CUSTODY" in page.locator("#sources ~ table").inner_text()
    assert errors == [], errors
