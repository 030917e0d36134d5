"""The main pages at tablet size (768 x 1024, portrait): nothing runs off the side of the screen, so an
officer on a tablet never scrolls sideways to read a record or reach a button."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server, screenshot, sign_in, watch_errors

TABLET = {"width": 768, "height": 1024}


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_main_pages_fit_a_tablet(page: Any, server: Server) -> None:
    errors = watch_errors(page)
    page.set_viewport_size(TABLET)
    sign_in(page, server, "/ui/search?q=smith")
    page.wait_for_url("**/ui/search?q=smith")
    pages = {
        "search": "/ui/search?q=smith",
        "person": f"/ui/people/{server.ids['john']}",
        "record": f"/ui/records/{server.ids['crime']}",
        "new-person": "/ui/records/new/person",
        "map": "/ui/map",
        "network": f"/ui/network/{server.ids['john']}",
    }
    wide = {}
    for name, address in pages.items():
        page.goto(f"{server.url}{address}")
        page.wait_for_load_state("networkidle")
        screenshot(page, f"tablet-{name}")
        wide[name] = overflow(page)
    assert wide == dict.fromkeys(pages, 0), wide
    assert errors == [], errors
