"""Every bad input gets a clear 4xx problem+json naming what is wrong; model faults give a generic 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from modelport.settings import Settings
from tests.conftest import write_fake_artifact

PROBLEM = "application/problem+json"


def assert_problem(r: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "request_id"} <= set(body)
    assert body["request_id"] == r.headers["x-request-id"]
    for needle in needles:
        assert needle in body["detail"], body
    return body


async def test_unknown_model_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/nope/predict", json={"features": [1, 2, 3, 4]})
    assert_problem(r, 404, "nope")


async def test_unknown_version_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", json={"features": [1, 2, 3, 4], "version": "7"})
    assert_problem(r, 404, "7")
    r = await client.post("/api/v1/models/iris/predict", json={"features": [1, 2, 3, 4], "version": "canary"})
    assert_problem(r, 404, "canary")


async def test_wrong_feature_count_400_says_expected_shape(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", json={"features": [1, 2, 3]})
    assert_problem(r, 400, "[N, 4]", "[1, 3]")


async def test_ragged_rows_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict/batch", json={"samples": [[1, 2, 3, 4], [1, 2]]})
    assert_problem(r, 422, "same, non-zero number of values")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_inf_422_name_the_field(client: httpx.AsyncClient, literal: str) -> None:
    body = '{"features": [1.0, 2.0, ' + literal + ', 4.0]}'
    r = await client.post("/api/v1/models/iris/predict", content=body,
                          headers={"content-type": "application/json"})
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["field"].startswith("features")
    assert literal not in r.text.replace(literal.lower(), "")  # the value is not echoed


async def test_huge_number_overflowing_to_inf_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", content='{"features": [1e999, 1, 1, 1]}',
                          headers={"content-type": "application/json"})
    assert r.status_code in (400, 422)
    assert r.headers["content-type"] == PROBLEM


async def test_empty_features_and_batches(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/api/v1/models/iris/predict", json={"features": []}), 422, "empty list")
    r = await client.post("/api/v1/models/iris/predict/batch", json={"samples": []})
    assert_problem(r, 422)
    assert r.json()["errors"][0]["field"] == "samples"


async def test_oversized_batch_400(make_settings: Any) -> None:
    app = create_app(make_settings(demo_models=True, demo_text_models=False, max_batch_rows=10))
    async with app.router.lifespan_context(app), _client(app) as c:
        r = await c.post("/api/v1/models/iris/predict/batch", json={"samples": [[1, 2, 3, 4]] * 11})
        assert_problem(r, 400, "11 rows", "maximum is 10")


@pytest.mark.parametrize("payload, field", [
    ({"features": ["a", "b", "c", "d"]}, "features"),
    ({"features": "1,2,3,4"}, "features"),
    ({"features": [1, 2, 3, 4], "version": True}, "version"),  # integers are versions (#19), not bools
    ({"features": [1, 2, 3, 4], "extra": 1}, "extra"),
    ({}, "features"),
])
async def test_wrong_types_422_name_the_field(client: httpx.AsyncClient, payload: dict[str, Any],
                                              field: str) -> None:
    problem = assert_problem(await client.post("/api/v1/models/iris/predict", json=payload), 422)
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem


async def test_malformed_json_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", content=b'{"features": [1, 2',
                          headers={"content-type": "application/json"})
    assert_problem(r, 422)


async def test_model_that_raises_gives_generic_500_and_server_survives(
    make_settings: Any, fake_flavors: None, tmp_path: Path
) -> None:
    settings: Settings = make_settings()
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app) as c:
        services = app.state.services
        await services.models.register_file("broken", "test-failing", write_fake_artifact(tmp_path))
        r = await c.post("/api/v1/models/broken/predict", json={"features": [1, 2, 3]})
        body = assert_problem(r, 500)
        assert body["detail"] == "Internal Server Error"
        assert "secret" not in r.text and "RuntimeError" not in r.text
        await services.models.register_file("sum", "test-sum", write_fake_artifact(tmp_path))
        ok = await c.post("/api/v1/models/sum/predict", json={"features": [1, 2, 3]})
        assert ok.status_code == 200 and ok.json()["predictions"] == [6.0]


def _client(app: FastAPI) -> httpx.AsyncClient:
    """A client with the admin key the app's first start wrote (call it once the app started)."""
    key = (app.state.services.settings.home / "admin.key").read_text().strip()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                             headers={"Authorization": f"Bearer {key}"})
