"""A real browser on the link chart: from a person's page, "Draw the network" draws the seeded network with
the vendored Cytoscape; the hops filter narrows it; selecting a record (mouse, then keyboard) adds its
neighbours to the chart and to the table under it; GraphML and PNG download as files; axe-core finds no
serious or critical violations. Screenshots go to test-artifacts/browser/network-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from tests.browser.conftest import Server, axe_violations, screenshot, sign_in, watch_errors

GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"


def sign_in_to(page: Any, server: Server, target: str) -> None:
    sign_in(page, server, target)


def wait_for_chart(page: Any) -> int:
    """Wait until the chart has drawn (its canvas and `window.openrmsChart`); the number of nodes."""
    page.locator("#network-chart canvas").first.wait_for()
    page.wait_for_function("window.openrmsChart && document.getElementById('network-chart').dataset.ready")
    return int(page.evaluate("window.openrmsChart.nodes().length"))


def click_node(page: Any, node_id: str) -> None:
    """Click a node where Cytoscape drew it."""
    box = page.locator("#network-chart").bounding_box()
    at = page.evaluate("(id) => window.openrmsChart.getElementById(id).renderedPosition()", node_id)
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])


def test_the_link_chart_draws_nodes(page: Any, server: Server, tmp_path: Path) -> None:
    errors = watch_errors(page)
    sign_in_to(page, server, f"/ui/people/{server.ids['john']}")
    page.wait_for_url("**/ui/people/**")
    screenshot(page, "network-01-person")

    page.get_by_role("link", name="Draw the network").click()
    page.wait_for_url("**/ui/network/**")
    assert wait_for_chart(page) == 5  # both records of John Smith, the burglary, the place and the car
    assert page.locator("#network-nodes tbody tr").count() == 5
    assert "5 records and 4 links" in page.locator("#network-status").inner_text()
    start = page.evaluate("window.openrmsChart.nodes('[start = 1]').map(n => n.id())")
    assert len(start) == 1 and start[0] in (server.ids["john"], server.ids["johnny"])
    screenshot(page, "network-02-chart")
    assert axe_violations(page) == []

    page.get_by_label("Hops from the start").select_option("1")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**hops=1**")
    assert wait_for_chart(page) == 3  # the start, its other record and what that start is linked to
    screenshot(page, "network-03-one-hop")

    other = server.ids["johnny"] if start[0] == server.ids["john"] else server.ids["john"]
    click_node(page, other)
    page.wait_for_function("window.openrmsChart.nodes().length === 4", timeout=5000)
    assert "Added 1 record" in page.locator("#network-status").inner_text()
    assert page.locator("#network-nodes tbody tr").count() == 4
    selected = page.locator("#network-selected")
    assert "Smith" in selected.inner_text()
    assert (
        selected.get_by_role("link", name="Open this record").get_attribute("href").startswith("/ui/people/")
    )
    screenshot(page, "network-04-expanded")

    chart = page.locator("#network-chart")
    chart.focus()  # keyboard users: arrows choose a record, Enter adds its neighbours
    for _ in range(4):
        page.keyboard.press("ArrowRight")
        if page.evaluate("window.openrmsChart.nodes(':selected').length") == 1:
            break
    page.keyboard.press("Enter")
    page.wait_for_function("!/Adding/.test(document.getElementById('network-status').textContent)")
    assert page.evaluate("window.openrmsChart.nodes(':selected').data('expanded')") == 1
    screenshot(page, "network-05-keyboard")

    with page.expect_download() as graphml:
        page.get_by_role("link", name="Download GraphML").click()
    saved = tmp_path / "chart.graphml"
    graphml.value.save_as(saved)
    assert graphml.value.suggested_filename.endswith(".graphml")
    root = etree.parse(str(saved)).getroot()
    assert root.tag == f"{GRAPHML}graphml" and len(root.findall(f"{GRAPHML}graph/{GRAPHML}node")) == 3

    with page.expect_download() as png:
        page.get_by_role("button", name="Download PNG").click()
    picture = tmp_path / "chart.png"
    png.value.save_as(picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 1000
    screenshot(page, "network-06-downloaded")

    assert axe_violations(page) == []
    page.locator("#network-nodes").get_by_role("link", name="Burglary 13/1234/18").click()
    page.wait_for_url(f"**/ui/records/{server.ids['crime']}")
    assert errors == [], errors
