"""A real browser against a real server: sign in, choose a purpose, search, open the person; axe-core finds
no serious or critical accessibility violations on the search page. Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server, axe_violations, screenshot, watch_errors
from tests.web.conftest import PASSWORD, USERNAME


def test_sign_in_search_and_open_a_person(page: Any, server: Server) -> None:
    errors = watch_errors(page)
    page.goto(f"{server.url}/ui/search?q=smith")
    assert "/ui/sign-in" in page.url
    screenshot(page, "01-sign-in")

    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/purpose**")
    screenshot(page, "02-purpose")

    page.get_by_label("Investigating an offence").check()
    page.get_by_label("Reason or reference").fill("Crime 13/1234/18")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/ui/search?q=smith")
    assert "Investigating an offence" in page.locator(".moj-identity-bar").inner_text()

    box = page.get_by_label("Search", exact=True)
    box.fill("")
    box.press_sequentially("smi", delay=30)
    page.locator(".app-suggestions__list a").first.wait_for()
    screenshot(page, "03-suggestions")
    box.fill("Jon Smyth")
    page.locator("#q").press("Enter")
    page.wait_for_url("**/ui/search?q=Jon+Smyth**")
    results = page.locator(".app-result")
    assert results.count() == 1
    assert "Why it matched" in results.first.inner_text()
    screenshot(page, "04-results")

    serious = axe_violations(page)
    assert serious == [], serious

    results.first.get_by_role("link").click()
    page.wait_for_url("**/ui/people/**")
    assert "Suspect in" in page.content()
    assert page.locator("h1").inner_text().strip() != ""
    screenshot(page, "05-person")
    assert axe_violations(page) == []
    assert errors == [], errors  # no script errors, no blocked resources (CSP), no 404s


def test_map_draws_points_without_tiles(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/ui/sign-in?next=/ui/map")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Investigating an offence").check()
    page.get_by_label("Reason or reference").fill("Crime 13/1234/18")  # the map is a search: it needs one
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/ui/map")
    page.locator("#map .app-point").first.wait_for()
    assert "1 event in view" in page.locator("#map-status").inner_text()
    screenshot(page, "06-map")
    page.locator("#map .app-point").first.click()  # a point opens a popup with a link to the event
    page.locator("#map .leaflet-popup-content").get_by_role("link", name="Open this event").click()
    page.wait_for_url(f"**/ui/records/{server.ids['crime']}")
