"""The Quality page in Chromium: drift per feature with reference and live histograms."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.browser.conftest import admin_key, api, expect, sign_in_with_key
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_the_drift_page_draws_a_histogram_per_feature(page: Any, server: LiveServer) -> None:
    with api(server) as client:  # shifted inputs: petal length far above the training range
        rows = [[5.0 + i % 7 * 0.1, 3.0, 6.5 + i % 5 * 0.1, 1.2] for i in range(60)]
        for row in rows:
            answer = client.post("/api/v1/models/iris/predict", json={"features": row})
            answer.raise_for_status()
        request_id = answer.json()["request_id"]
        client.post(f"/api/v1/predictions/{request_id}/feedback", json={"actual": 2}).raise_for_status()
    time.sleep(1.5)  # the prediction log is written behind, every 0.5 s
    sign_in_with_key(page, server, admin_key(server))
    page.get_by_role("link", name="Quality").click()
    page.get_by_role("link", name="v1").first.wait_for()
    page.goto(f"{server.url}/ui/quality/iris/1")
    expect(page.get_by_role("heading", name="Drift against the reference")).to_be_visible()
    histograms = page.locator("canvas.histogram")
    expect(histograms).to_have_count(4)
    for i in range(4):
        expect(histograms.nth(i)).to_have_attribute("data-drawn", "true")
        assert histograms.nth(i).bounding_box()["height"] > 50
    drift_table = page.locator("section[aria-labelledby=drift-h] table")
    expect(drift_table.locator("tbody tr")).to_have_count(4)
    expect(page.locator("section[aria-labelledby=drift-h]")).to_contain_text("Verdict:")
    expect(drift_table.locator("td.num").first).to_have_text(re.compile(r"^\d+\.\d{4}$"))  # a PSI
    expect(page.locator("section[aria-labelledby=perf-h] table")).to_contain_text("accuracy")
