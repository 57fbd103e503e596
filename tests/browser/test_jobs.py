"""The Jobs pages in Chromium: start a training job from the form and watch it reach 100 %."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import admin_key, expect, notice, sign_in_with_key
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_start_a_training_job_and_watch_it_reach_100_percent(page: Any, server: LiveServer) -> None:
    sign_in_with_key(page, server, admin_key(server))
    page.get_by_role("link", name="Jobs").click()
    page.get_by_label("Dataset").select_option("builtin:iris")
    page.get_by_label("Estimator").select_option("LogisticRegression")
    page.get_by_label("Register as (model name)").fill("iris-trained")
    page.get_by_label("Alias (optional)").fill("staging")
    page.get_by_role("button", name="Start training").click()
    expect(notice(page)).to_contain_text("Training job submitted")
    assert "/ui/jobs/" in page.url
    # the progress fragment polls itself (htmx) until the job is done: no reload here
    expect(page.locator("[data-state]")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator(".progress-text")).to_have_text("100 %")
    expect(page.locator("progress[aria-label='job progress']")).to_have_attribute("value", "100")
    page.get_by_role("link", name="iris-trained v1").click()
    expect(page.locator('td[data-alias="staging"]')).to_have_text("v1")
    expect(page.locator("#v1")).to_contain_text("trained by job")


def test_upload_a_dataset_and_preview_it(page: Any, server: LiveServer, tmp_path: Any) -> None:
    csv = tmp_path / "points.csv"
    csv.write_text("x,y,target\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(40)))
    sign_in_with_key(page, server, admin_key(server))
    page.goto(f"{server.url}/ui/datasets")
    page.get_by_label("CSV or Parquet file").set_input_files(str(csv))
    page.get_by_label("Name (optional)").fill("points")
    page.get_by_role("button", name="Upload").click()
    expect(notice(page)).to_contain_text("Uploaded points")
    expect(page.get_by_role("heading", name="Dataset points")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.locator("thead")).to_contain_text("target")
    expect(table.locator("tbody tr")).to_have_count(20)
