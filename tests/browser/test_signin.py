"""Signing in and out of the console in Chromium: key, password, refusals, an ended session."""

from __future__ import annotations

import time
from typing import Any

import pytest

from modelport.app import create_app
from tests.browser.conftest import MODELS_URL, admin_key, expect, sign_in_with_key, sign_in_with_password
from tests.conftest import LiveServer, build_test_settings, serve_in_thread

pytestmark = pytest.mark.browser


def test_sign_in_with_a_key_opens_the_models_page_with_the_demo_models(page: Any, server: LiveServer) -> None:
    sign_in_with_key(page, server, admin_key(server))
    expect(page).to_have_url(MODELS_URL)
    table = page.get_by_role("table")
    for name in ("iris", "breast-cancer", "diabetes"):
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(table).to_contain_text("production → v1")


def test_sign_in_with_a_password_then_sign_out(page: Any, server: LiveServer) -> None:
    server.run(server.services.auth.users.create("alice", "correct-horse-battery", role="user",
                                                 scopes=["predict", "models:read"]))
    sign_in_with_password(page, server, "alice", "correct-horse-battery")
    expect(page).to_have_url(MODELS_URL)
    expect(page.locator(".who")).to_have_text("alice")
    expect(page.get_by_role("link", name="iris", exact=True)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out")
    page.goto(f"{server.url}/ui/models")  # the session is gone
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def test_a_refused_sign_in_says_why_and_stays_on_the_form(page: Any, server: LiveServer) -> None:
    sign_in_with_password(page, server, "nobody", "wrong-password-123", refused=True)
    expect(page.get_by_role("alert")).to_contain_text("Sign-in refused")
    expect(page.get_by_label("Username", exact=True)).to_have_value("nobody")
    sign_in_with_key(page, server, "mp_0123456789abcdef_not-a-real-secret-at-all-xxxxxxxxxxxxxx",
                     refused=True)
    expect(page.get_by_role("alert")).to_contain_text("Sign-in refused")
    page.goto(f"{server.url}/ui/jobs")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def test_an_expired_session_sends_the_browser_back_to_sign_in(page: Any, tmp_path: Any) -> None:
    settings = build_test_settings(tmp_path / "home", console_session_ttl_s=2)
    with serve_in_thread(create_app(settings)) as short:
        sign_in_with_key(page, short, admin_key(short))
        expect(page).to_have_url(MODELS_URL)
        time.sleep(3.5)
        page.get_by_role("link", name="Jobs").click()
        expect(page.get_by_role("status")).to_contain_text("Your session has ended")
        assert "next=/ui/jobs" in page.url
        sign_in_with_key(page, short, admin_key(short))  # signing in again works
        expect(page).to_have_url(MODELS_URL)
