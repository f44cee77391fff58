"""A real headless Chromium for tests: Debian's ``chromium`` driven by Playwright, no browser download.

Use the fixtures by importing them into a test module (or a conftest)::

    from tests.browser import browser, browser_page  # noqa: F401

``browser_page`` yields a :class:`BrowserPage`: a fresh offline page plus everything it logged
(console errors, uncaught exceptions) and every request it made. Without Chromium (or
Playwright) the tests skip, naming what is missing -- unless ``AKER_REQUIRE_BROWSER=1`` (set by
``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: Debian's chromium package installs this launcher.
CHROMIUM = os.environ.get("AKER_CHROMIUM", "/usr/bin/chromium")
# Read at import: the suite's autouse fixture clears AKER_* variables before each test runs.
REQUIRE_BROWSER = os.environ.get("AKER_REQUIRE_BROWSER") == "1"
VIEWPORT = {"width": 1440, "height": 1000}


def browser_unavailable_reason() -> str | None:
    """Why no browser test can run here, or ``None`` when Chromium and Playwright are present."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} not found (Debian package chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


def skip_without_browser() -> None:
    """Skip the test (fail with ``AKER_REQUIRE_BROWSER=1``) when no browser can run."""
    reason = browser_unavailable_reason()
    if reason is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"a browser is required (AKER_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


@dataclass
class BrowserPage:
    """A page and what it did: console errors, page errors and requested URLs, in order."""

    page: Page
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """Write a PNG screenshot to ``path`` and return it."""
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module (launching takes about a second)."""
    skip_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[BrowserPage]:
    """A fresh page in an offline context that records console errors and every request."""
    context = browser.new_context(viewport=VIEWPORT, offline=True)  # type: ignore[arg-type]
    page = context.new_page()
    record = BrowserPage(page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            record.errors.append(message.text)
        elif message.type == "warning":
            record.warnings.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: record.errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: record.requests.append(request.url))
    try:
        yield record
    finally:
        context.close()
