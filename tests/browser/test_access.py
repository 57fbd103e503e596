"""The Access page and scopes in Chromium: create a key (shown once), revoke it; a predict-only
key sees only what it may, and the API refuses the rest anyway."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import (
    MODELS_URL,
    admin_key,
    api,
    expect,
    notice,
    sign_in_with_key,
    sign_in_with_password,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
IRIS_ROW = {"features": [5.1, 3.5, 1.4, 0.2]}


def test_create_a_key_shown_once_then_revoke_it(page: Any, server: LiveServer) -> None:
    sign_in_with_key(page, server, admin_key(server))
    page.get_by_role("link", name="Access").click()
    page.get_by_label("Name", exact=True).fill("browser-made")
    page.get_by_label("Expires in (e.g. 12h, 30d; empty: never)").fill("1d")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("API key", exact=True)
    key = shown.input_value()
    assert re.fullmatch(r"mp_[0-9a-f]{16}_\S+", key)
    key_id = key.split("_")[1]
    with api(server, key) as client:  # a working predict key
        assert client.post("/api/v1/models/iris/predict", json=IRIS_ROW).status_code == 200
    page.goto(f"{server.url}/ui/access")
    expect(page.get_by_label("API key", exact=True)).to_have_count(0)  # never shown again
    row = page.locator(f'tr[data-key="{key_id}"]')
    expect(row).to_contain_text("active")
    row.get_by_role("button", name=f"Revoke key {key_id}").click()
    expect(notice(page)).to_contain_text(f"Key {key_id} revoked")
    expect(page.locator(f'tr[data-key="{key_id}"]')).to_contain_text("revoked")
    with api(server, key) as client:
        assert client.post("/api/v1/models/iris/predict", json=IRIS_ROW).status_code == 401


def test_a_predict_only_key_sees_only_what_it_may(page: Any, server: LiveServer) -> None:
    with api(server) as client:
        created = client.post("/api/v1/keys", json={"name": "app", "scopes": ["predict"]})
        created.raise_for_status()
    key = created.json()["key"]
    sign_in_with_key(page, server, key)
    expect(page).to_have_url(MODELS_URL)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Predictions")).to_be_visible()
    for hidden in ("Access", "Jobs", "Quality"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    expect(page.get_by_role("alert")).to_contain_text("models:read")
    expect(page.get_by_role("button", name="Upload")).to_have_count(0)
    page.goto(f"{server.url}/ui/models/iris")
    expect(page.get_by_role("button", name=re.compile("^Move"))).to_have_count(0)
    expect(page.get_by_role("button", name="Apply traffic policy")).to_have_count(0)
    assert page.goto(f"{server.url}/ui/access").status == 403
    # the API refuses what the pages do not offer: a hand-made form post with a valid CSRF token
    page.goto(f"{server.url}/ui/predictions")
    token = page.locator("input[name=csrf]").first.input_value()
    answer = page.request.post(f"{server.url}/ui/models/iris/aliases/production",
                               form={"csrf": token, "version": "1"}, headers={"Origin": server.url})
    assert "needs the &#39;models:write&#39; scope" in answer.text()
    assert server.run(server.services.registry.get_model("iris")).aliases["production"] == 1


def test_an_admin_disables_a_user_and_their_sign_in_is_then_refused(page: Any, server: LiveServer) -> None:
    with api(server) as client:
        created = client.post("/api/v1/users", json={"username": "dora", "password": "correct-horse-battery",
                                                     "role": "user"})
        assert created.status_code == 201, created.text
    sign_in_with_password(page, server, "dora", "correct-horse-battery")
    expect(page).to_have_url(MODELS_URL)  # she could sign in before
    page.context.clear_cookies()

    sign_in_with_key(page, server, admin_key(server))
    page.get_by_role("link", name="Access").click()
    row = page.locator('tr[data-user="dora"]')
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Disable dora").click()
    expect(notice(page)).to_contain_text("User dora disabled")
    expect(page.locator('tr[data-user="dora"]')).to_contain_text("disabled")
    with api(server) as client:
        users = {u["username"]: u for u in client.get("/api/v1/users").json()}
    assert users["dora"]["disabled"] is True  # the API has it, not just the page
    page.context.clear_cookies()

    sign_in_with_password(page, server, "dora", "correct-horse-battery", refused=True)
    expect(page.get_by_role("alert")).to_contain_text("Sign-in refused")
    expect(page.get_by_label("Username", exact=True)).to_have_value("dora")
    page.goto(f"{server.url}/ui/models")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
