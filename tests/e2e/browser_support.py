"""A real browser for the e2e tests: Debian's chromium, driven by Playwright (its own browser
download is not reachable here), with axe-core injected to check accessibility and screenshots
for the README. `make test` installs chromium (apt) and axe-core (npm ci)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CAISSE_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Without the background-networking flags chromium keeps calling Google's hosts, which this
# machine's closed network refuses; as root it needs --no-sandbox.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: `make browser` installs Debian's (or set CAISSE_CHROMIUM)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Browser, viewport: dict | None = None, locale: str = "en-GB") -> Page:
    """A page in a fresh context (no cookies or storage from another test); JavaScript errors fail
    the test that reads `page.errors`."""
    context = browser.new_context(viewport=viewport or DESKTOP, locale=locale)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = open_page(browser)
    try:
        yield opened
    finally:
        opened.context.close()


def sign_in_to_console(page: Page, api: str, token: str, timeout_ms: int = 30_000) -> None:
    """Staff signed in to the console at `api` with a local stack's token, as a person pastes it."""
    page.goto(f"{api}/console")
    page.get_by_label("Staff token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=timeout_ms)


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """What axe-core finds on the page as it is now, of the given impacts: rule, impact, where."""
    if not AXE.is_file():
        pytest.fail("axe-core is installed by `make browser` (npm ci in tests/browser)")
    # Evaluated through the DevTools protocol, which the pages' strict CSP does not govern (a
    # <script> tag would be refused, as it should be).
    page.evaluate("() => {\n" + AXE.read_text() + "\n}")
    results = page.evaluate("async () => await window.axe.run(document)")
    return [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results["violations"]
        if v["impact"] in impacts
    ]


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0: no horizontal scroll)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def screenshot(page: Page, name: str) -> Path | None:
    """A full-page screenshot for docs/screenshots (the README shows them), taken when
    CAISSE_SCREENSHOTS is set (`make screenshots`), so a test run leaves the tree as it was."""
    if not os.environ.get("CAISSE_SCREENSHOTS"):
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
