"""The Models pages in Chromium: register by upload, move an alias, see the model page change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

from tests.browser.conftest import MODELS_URL, admin_key, expect, notice, sign_in_with_key
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def iris_artifact(tmp: Path) -> Path:
    x, y = load_iris(return_X_y=True)
    path = tmp / "tree.skops"
    skops.io.dump(DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y), path)
    return path


def test_upload_a_version_then_move_the_alias_and_the_page_changes(page: Any, server: LiveServer,
                                                                   tmp_path: Path) -> None:
    sign_in_with_key(page, server, admin_key(server))
    expect(page).to_have_url(MODELS_URL)
    page.get_by_label("Name", exact=True).fill("flowers")
    page.get_by_label("Flavor").select_option("sklearn")
    page.get_by_label("Artifact file").set_input_files(str(iris_artifact(tmp_path)))
    page.get_by_label("Alias (optional)").fill("production")
    page.get_by_role("button", name="Upload").click()
    expect(notice(page)).to_contain_text("Registered flowers v1")
    expect(page.get_by_role("heading", name="flowers", exact=True)).to_be_visible()

    page.goto(f"{server.url}/ui/models")
    page.get_by_label("Name", exact=True).fill("flowers")
    page.get_by_label("Artifact file").set_input_files(str(iris_artifact(tmp_path)))
    page.get_by_role("button", name="Upload").click()
    expect(notice(page)).to_contain_text("Registered flowers v2")
    serving = page.locator('td[data-alias="production"]')
    expect(serving).to_have_text("v1")

    page.get_by_label("Version for production").select_option("2")
    page.get_by_role("button", name="Move production").click()
    expect(notice(page)).to_contain_text("production now serves v2")
    expect(serving).to_have_text("v2")
    expect(page.locator("#v2 h3")).to_contain_text("production")
    page.goto(f"{server.url}/ui/models")
    expect(page.get_by_role("table")).to_contain_text("production → v2")
    detail = server.run(server.services.registry.get_model("flowers"))
    assert detail.aliases["production"] == 2  # the API moved it, not just the page


def test_the_model_page_draws_live_charts_per_version(page: Any, server: LiveServer) -> None:
    import httpx

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin_key(server)}"}) as c:
        for _ in range(12):
            c.post("/api/v1/models/diabetes/predict", json={"features": [0.01] * 10}).raise_for_status()
    sign_in_with_key(page, server, admin_key(server))
    page.goto(f"{server.url}/ui/models/diabetes")
    live = page.locator("[data-live]")
    expect(live).to_have_attribute("data-versions", "1", timeout=20_000)
    assert page.locator("canvas#chart-rps").bounding_box()["height"] > 50
