"""Traffic control from the model page in Chromium: a 90/10 split on an alias (seen on the page
and in the traffic API), a rollback with its history entry, and no split form for a principal
without ``models:write``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import admin_key, api, expect, notice, sign_in_with_key
from tests.browser.test_models import iris_artifact
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
MODEL = "petals"


@pytest.fixture(scope="module")
def two_versions(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``petals`` v1 (alias ``production``) and v2, registered through the API."""
    artifact = iris_artifact(tmp_path_factory.mktemp("petals"))
    with api(server) as client:
        for extra in ({"alias": "production"}, {}):
            answer = client.post("/api/v1/models", data={"name": MODEL, "flavor": "sklearn", **extra},
                                 files={"file": ("tree.skops", artifact.read_bytes())})
            assert answer.status_code in (200, 201), answer.text
    return MODEL


def _alias(server: LiveServer) -> dict[str, Any]:
    with api(server) as client:
        answer = client.get(f"/api/v1/models/{MODEL}/aliases/production")
        answer.raise_for_status()
        return dict(answer.json())


def test_set_a_90_10_split_then_roll_it_back(page: Any, server: LiveServer, two_versions: str) -> None:
    sign_in_with_key(page, server, admin_key(server))
    page.goto(f"{server.url}/ui/models/{two_versions}")
    serving = page.locator('td[data-alias="production"]')
    expect(serving).to_have_text("v1")

    page.get_by_label("Alias", exact=True).select_option("production")
    page.get_by_label("Stable version").select_option("1")
    page.get_by_label("Stable weight (%)").fill("90")
    page.get_by_label("Canary version").select_option("2")
    page.get_by_label("Canary weight (%)").fill("10")
    page.get_by_role("button", name="Apply traffic policy").click()
    expect(notice(page)).to_contain_text("production: v1 90% / v2 10%")
    expect(serving).to_contain_text("v1 90% / v2 10%")
    routes = _alias(server)["traffic"]["routes"]
    assert [(r["version"], r["weight"]) for r in routes] == [(1, 90.0), (2, 10.0)]  # the API has it
    history = page.get_by_role("list", name="History of production")
    expect(history.get_by_role("listitem").first).to_contain_text("set")
    expect(history.get_by_role("listitem").first).to_contain_text(": v1 90% / v2 10%")
    page.goto(f"{server.url}/ui/models")
    expect(page.get_by_role("table")).to_contain_text("production: v1 90% / v2 10%")

    page.goto(f"{server.url}/ui/models/{two_versions}")
    page.get_by_role("button", name="Roll back production").click()
    expect(notice(page)).to_contain_text("production rolled back")
    expect(serving).to_have_text("v1")
    latest = page.get_by_role("list", name="History of production").get_by_role("listitem").first
    expect(latest).to_contain_text("rollback")
    expect(latest).to_contain_text(": v1")
    expect(latest).not_to_contain_text("%")
    assert [r["version"] for r in _alias(server)["traffic"]["routes"]] == [1]


def test_a_principal_without_models_write_is_not_offered_the_split(page: Any, server: LiveServer,
                                                                   two_versions: str) -> None:
    with api(server) as client:
        created = client.post("/api/v1/keys", json={"name": "reader", "scopes": ["predict", "models:read"]})
        created.raise_for_status()
    sign_in_with_key(page, server, created.json()["key"])
    page.goto(f"{server.url}/ui/models/{two_versions}")
    expect(page.get_by_role("heading", name=two_versions, exact=True)).to_be_visible()
    expect(page.locator('td[data-alias="production"]')).to_contain_text("v1")
    expect(page.get_by_role("button", name="Apply traffic policy")).to_have_count(0)
    expect(page.get_by_label("Canary weight (%)")).to_have_count(0)
    expect(page.get_by_role("button", name="Roll back production")).to_have_count(0)
