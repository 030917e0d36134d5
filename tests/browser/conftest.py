"""Playwright on Debian's chromium, and a real uvicorn server on a free port over a temporary SQLite file.

Without /usr/bin/chromium or the playwright package the browser tests skip, saying why; with
OPENRMS_REQUIRE_BROWSER=1 (CI) that skip is a failure instead, so CI cannot pass without a browser.
Never run `playwright install`: the tests drive the system chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from openrms.api.app import create_app
from openrms.store.database import Database
from tests.web.conftest import PASSWORD, USERNAME, seed, use_auth

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
REQUIRE = os.environ.get("OPENRMS_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"OPENRMS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # bypass_csp lets the test inject axe-core; the pages' own policy allows only their own scripts.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@dataclass
class Server:
    url: str
    ids: dict[str, str]
    auth: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The app (API and UI) served by uvicorn in a thread of this process, on seeded data."""
    path = tmp_path / "openrms.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    auth = use_auth(db, monkeypatch)
    ids = seed(db)
    app = create_app(db)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", ids, auth)
    running.should_exit = True
    thread.join(10)
    db.dispose()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations of the given impacts on the current page (WCAG 2.x A and AA rules)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {resultTypes: ["violations"], runOnly: {type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def watch_errors(page: Any) -> list[str]:
    """The page's console errors and uncaught exceptions from now on (a flow must end with none)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def sign_in(
    page: Any,
    server: Server,
    target: str,
    *,
    username: str = USERNAME,
    purpose: str = "Investigating an offence",
    reason: str = "Crime 13/1234/18",
) -> None:
    """Sign in through the form on the way to `target`, declaring a purpose and a reason."""
    page.goto(f"{server.url}/ui/sign-in?next={target}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label(purpose).check()
    page.get_by_label("Reason or reference").fill(reason)
    page.get_by_role("button", name="Continue").click()
