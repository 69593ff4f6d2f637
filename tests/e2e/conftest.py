"""Headless Chromium through Playwright, against pytest-django's live server.

The browser is the system's Chromium (apt: chromium), never one downloaded by
`playwright install`. A missing browser fails the test with the fix, so CI can
never pass without running it; a developer may set MAUTOMATION_SKIP_E2E=1.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = os.environ.get("MAUTOMATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"


def _unavailable(reason: str) -> None:
    if os.environ.get("MAUTOMATION_SKIP_E2E") == "1":
        pytest.skip(f"MAUTOMATION_SKIP_E2E=1: {reason}")
    pytest.fail(f"{reason}; install it (apt-get install -y chromium chromium-driver) or set MAUTOMATION_SKIP_E2E=1.")


def require_browser(chromium: str = CHROMIUM) -> None:
    """Fail (or skip, when a developer asked for it) unless Chromium and Playwright are both here."""
    if not (Path(chromium).exists() or shutil.which(chromium)):
        _unavailable(f"the end-to-end tests need Chromium at {chromium}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the end-to-end tests need Playwright for Python (pip install -r requirements-dev.txt)")


@pytest.fixture
def browser(monkeypatch) -> Iterator:
    require_browser()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test itself are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # While Playwright's loop runs, the ORM keeps the test's connections apart (asgiref's context-local
        # storage); close them here, in that same context, or the test database could not be dropped.
        connections.close_all()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
