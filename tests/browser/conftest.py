"""Browser fixtures: Debian's Chromium driven by Playwright (never ``playwright install``).

The tests skip when ``/usr/bin/chromium`` or the playwright package is absent, unless
``MODELPORT_REQUIRE_SERVICES=1`` (CI), where a missing browser fails them.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from modelport.app import create_app

try:  # the tests import ``expect`` from here: without playwright they skip (or fail in CI) cleanly
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - only where the dev extra is not installed
    expect = None
from tests.conftest import REQUIRE_SERVICES, LiveServer, build_test_settings, serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
__all__ = ["expect"]


def need_browser() -> None:
    missing = [what for what, ok in (("/usr/bin/chromium", CHROMIUM.exists()),
                                     ("the playwright package", importlib.util.find_spec("playwright")))
               if not ok]
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(f"{', '.join(missing)} missing and MODELPORT_REQUIRE_SERVICES=1")
        pytest.skip(f"{', '.join(missing)} missing")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module: Playwright's sync API runs an event loop in this thread while it is started,
    which pytest-asyncio's tests (elsewhere in the suite) cannot share."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Blocker:
    """Aborts every request to a host other than loopback, and remembers it."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def __call__(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()


@pytest.fixture
def context(browser: Any) -> Iterator[tuple[Any, Blocker]]:
    """A fresh browser profile (no cookies) whose requests may only reach loopback."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    blocker = Blocker()
    ctx.route("**/*", blocker)
    ctx.set_default_timeout(20_000)
    yield ctx, blocker
    ctx.close()


@pytest.fixture
def page(context: tuple[Any, Blocker]) -> Any:
    ctx, _ = context
    return ctx.new_page()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server with the sklearn demo models (iris, breast-cancer, diabetes, digits)."""
    need_browser()
    home = tmp_path_factory.mktemp("console") / "home"
    # every browser test signs in from 127.0.0.1 to this one server per test process: the default
    # 10 key sign-ins a minute per address refused the eleventh (a 429 page, then a redirect to
    # the sign-in page); the sign-in rate limit has its own tests
    settings = build_test_settings(home, demo_models=True, demo_text_models=False,
                                   token_rate_limit="1000/minute")
    with serve_in_thread(create_app(settings)) as live:
        yield live


def admin_key(server: LiveServer) -> str:
    return (server.services.settings.home / "admin.key").read_text().strip()


def api(server: LiveServer, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key or admin_key(server)}"},
                        timeout=30)


def signed_in(page: Any) -> None:
    """The sign-in form answered with a redirect away from it, not with its page and an error."""
    assert "/ui/login" not in page.url, page.locator("main").inner_text()[:500]


def sign_in_with_key(page: Any, server: LiveServer, key: str, *, refused: bool = False) -> None:
    page.goto(f"{server.url}/ui/login")
    page.get_by_label("API key", exact=True).fill(key)
    with page.expect_navigation():  # the form's answer has set the cookie before the next goto
        page.get_by_role("button", name="Sign in with key").click()
    if not refused:
        signed_in(page)


def sign_in_with_password(page: Any, server: LiveServer, username: str, password: str, *,
                          refused: bool = False) -> None:
    page.goto(f"{server.url}/ui/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if not refused:
        signed_in(page)


MODELS_URL = re.compile(r".*/ui/models$")


def notice(page: Any) -> Any:
    """The one-time notice a page shows after a form (role=status)."""
    return page.locator("main > p.notice")
