"""``/ui``, ``/docs`` and ``/redoc`` work with every non-loopback request blocked in the browser."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Blocker, admin_key, expect, sign_in_with_key
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_console_and_api_docs_load_with_no_network_beyond_loopback(
        context: tuple[Any, Blocker], server: LiveServer) -> None:
    ctx, blocker = context
    page = ctx.new_page()
    failed: list[str] = []
    # net::ERR_ABORTED is the page's own navigation cancelling a request (a poll, a script) in
    # flight; anything else (the blocker's aborts included) is a failure
    page.on("requestfailed", lambda request: None if request.failure == "net::ERR_ABORTED"
            else failed.append(f"{request.url}: {request.failure}"))
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    sign_in_with_key(page, server, admin_key(server))
    page.wait_for_load_state("networkidle")
    for path in ("/ui/models", "/ui/models/iris", "/ui/quality/iris/1", "/ui/jobs", "/ui/predictions",
                 "/ui/access"):
        page.goto(f"{server.url}{path}", wait_until="networkidle")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    page.goto(f"{server.url}/docs", wait_until="networkidle")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("modelport")
    expect(page.locator(".opblock").first).to_be_visible()

    page.goto(f"{server.url}/redoc", wait_until="networkidle")
    expect(page.locator("h1").first).to_contain_text("modelport", timeout=30_000)
    expect(page.get_by_text("/api/v1/models/{name}/predict").first).to_be_attached()

    assert blocker.blocked == [], f"requests left loopback: {blocker.blocked}"
    assert failed == [], f"requests failed: {failed}"
    assert errors == [], f"browser console errors (CSP?): {errors}"
