"""A real browser on the map with no tile server: the seeded burglary is drawn as a point, its popup names
the event and links to it, the heat toggle draws the canvas heat layer, the filters narrow what is drawn
and bad filters show an error summary; axe-core finds no serious violations. Screenshots go to
test-artifacts/browser/map-*.png."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server, axe_violations, screenshot, sign_in, watch_errors

POINT = "#map .app-point"
HEAT = "#map canvas.app-heat"


def sign_in_to_map(page: Any, server: Server) -> None:
    sign_in(page, server, "/ui/map")
    page.wait_for_url("**/ui/map")


def heat_pixels(page: Any) -> int:
    """How many pixels of the heat canvas are coloured in."""
    return int(
        page.evaluate(
            """() => { const c = document.querySelector("#map canvas.app-heat");
                const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
        )
    )


def test_map_points_popup_heat_and_filters(page: Any, server: Server) -> None:
    errors = watch_errors(page)
    sign_in_to_map(page, server)

    page.locator(POINT).first.wait_for()
    assert page.locator(POINT).count() == 1
    assert "1 event in view" in page.locator("#map-status").inner_text()
    screenshot(page, "map-01-points")

    point = page.locator(POINT).first
    assert point.get_attribute("tabindex") == "0" and point.get_attribute("role") == "button"
    point.focus()  # keyboard users reach a point with Tab and open it with Enter
    page.keyboard.press("Enter")
    popup = page.locator("#map .leaflet-popup-content")
    popup.wait_for()
    page.wait_for_function("getComputedStyle(document.querySelector('#map .leaflet-popup')).opacity === '1'")
    text = popup.inner_text()
    assert "13/1234/18" in text and "Crime: Burglary" in text and "14 July 2018" in text
    link = popup.get_by_role("link", name="Open this event")
    assert link.get_attribute("href") == f"/ui/records/{server.ids['crime']}"
    screenshot(page, "map-02-popup")

    page.get_by_label("Show as heat map").check()
    page.locator(HEAT).wait_for()
    popup.wait_for(state="detached")  # the open popup closes with the points
    assert page.locator(POINT).count() == 0
    assert heat_pixels(page) > 100
    assert "heat map" in page.locator("#map-status").inner_text()
    screenshot(page, "map-03-heat")

    page.get_by_label("Show as heat map").uncheck()
    page.locator(POINT).first.wait_for()
    assert page.locator(HEAT).count() == 0
    assert axe_violations(page) == []

    page.get_by_label("Event type").select_option("DRUGS")
    page.get_by_role("button", name="Show events").click()
    page.wait_for_url("**/ui/map?**event_type=DRUGS**")
    page.get_by_text("0 events in view").wait_for()
    assert page.locator(POINT).count() == 0
    assert "No events you may see match these filters" in page.content()
    screenshot(page, "map-04-filtered")

    assert errors == [], errors
    page.get_by_label("Event type").select_option("BURGLARY")
    page.get_by_role("button", name="Use the centre of the map").click()
    assert page.get_by_label("Latitude").input_value() != ""
    page.get_by_label("Distance in metres").fill("0")
    page.get_by_role("button", name="Show events").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "Distance" in summary.inner_text()
    screenshot(page, "map-05-error")
    assert [e for e in errors if "status of 400" not in e] == [], errors  # the page itself is a 400
    errors.clear()

    page.get_by_label("Distance in metres").fill("2000")
    page.get_by_role("button", name="Show events").click()
    page.locator(POINT).first.wait_for()
    assert page.get_by_role("link", name="Burglary 13/1234/18").count() == 1  # listed under the map too
    page.locator(POINT).first.click()
    page.locator("#map .leaflet-popup-content").get_by_role("link", name="Open this event").click()
    page.wait_for_url(f"**/ui/records/{server.ids['crime']}")
    screenshot(page, "map-06-event")
    assert errors == [], errors
