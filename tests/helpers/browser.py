"""Debian's Chromium driven by Playwright, for the browser tests of the web pages.

Chromium comes from ``apt-get install chromium`` (``make browsers``); Playwright's own browser download cannot
work here, so it is pointed at /usr/bin/chromium. Without Chromium the tests are skipped locally and fail under
``CI=true``. Test modules take the ``browser`` fixture from tests/web/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

__all__ = ["CHROMIUM", "expect", "launch", "new_page"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the browser tests need Chromium under CI=true: {reason}")
    pytest.skip(reason)


def launch() -> Iterator[Any]:
    """A headless Chromium for the duration of the generator (a fixture's body)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - installed by the dev extra
        _unavailable(f"playwright is not installed: {exc}")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: run `make browsers` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def new_page(browser: Any, width: int = 1280, height: int = 900, **options: Any) -> Any:
    """A page in a new context (its own storage), ``width`` x ``height`` CSS pixels."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    return context.new_page()
