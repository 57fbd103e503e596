"""/api/v1 predict under pressure: 503 + Retry-After, 504 deadlines, and the fast body parser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from modelport.registry.manifest import ServingConfig
from tests.conftest import write_fake_artifact

pytestmark = pytest.mark.usefixtures("fake_flavors")


@pytest.fixture
async def slow_app(make_settings: Any, tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        models = app.state.services.models
        path = write_fake_artifact(tmp_path, "slow.json", delay_s=0.4)
        await models.register_file("slow", "test-slow", path, config=ServingConfig(max_queue=1),
                                   aliases=["production"])
        await models.register_file("sum", "test-sum", write_fake_artifact(tmp_path, "sum.json"),
                                   aliases=["production"])
        yield app


@pytest.fixture
async def http(slow_app: FastAPI, admin_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=slow_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=admin_headers) as c:
        yield c


ROW = {"features": [1.0, 2.0, 3.0]}


async def loaded_model(app: FastAPI, name: str) -> Any:
    services = app.state.services
    return await services.manager.get(await services.registry.resolve(name))


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_queue_full_is_a_fast_503_with_retry_after(http: httpx.AsyncClient,
                                                          slow_app: FastAPI) -> None:
    batcher = (await loaded_model(slow_app, "slow")).batcher
    first = asyncio.ensure_future(http.post("/api/v1/models/slow/predict", json=ROW))
    await until(lambda: batcher.busy == 1)
    second = asyncio.ensure_future(http.post("/api/v1/models/slow/predict", json=ROW))
    await until(lambda: batcher.depth == 1)
    started = time.perf_counter()
    r = await http.post("/api/v1/models/slow/predict", json=ROW)
    assert time.perf_counter() - started < 0.1
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "overloaded"
    assert (await first).status_code == 200 and (await second).status_code == 200


async def test_request_timeout_header_gives_504_and_drops_the_work(http: httpx.AsyncClient,
                                                                  slow_app: FastAPI) -> None:
    loaded = await loaded_model(slow_app, "slow")
    first = asyncio.ensure_future(http.post("/api/v1/models/slow/predict", json=ROW))
    await until(lambda: loaded.batcher.busy == 1)
    r = await http.post("/api/v1/models/slow/predict", json=ROW, headers={"X-Request-Timeout": "0.05"})
    assert r.status_code == 504
    assert r.json()["code"] == "deadline_exceeded"
    assert (await first).status_code == 200
    assert loaded.batcher.expired == 1
    assert loaded.runtime.calls == [1]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "99999"])
async def test_bad_timeout_header_is_400(http: httpx.AsyncClient, value: str) -> None:
    r = await http.post("/api/v1/models/sum/predict", json=ROW, headers={"X-Request-Timeout": value})
    assert r.status_code == 400
    assert "X-Request-Timeout" in r.json()["detail"]


async def test_fast_body_answers_like_the_model(http: httpx.AsyncClient) -> None:
    body = {"features": [[1, 2, 3], [4, 5, 6]], "version": "1"}
    r = await http.post("/api/v1/models/sum/predict", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == [6.0, 15.0]
    r = await http.post("/api/v1/models/sum/predict/batch", json={"samples": [[1, 1, 1]]})
    assert r.json()["predictions"] == [3.0]


@pytest.mark.parametrize(("body", "field"), [
    ({"features": ["a", 1, 2]}, "features"),
    ({"features": [1, 2, 3], "extra": 1}, "extra"),
    ({}, "features"),
    ({"features": [1, 2, 3], "version": 0}, "version"),  # integers are versions (#19), from 1
    ({"features": [[[1]]]}, "features"),
])
async def test_invalid_bodies_are_422_naming_the_field(http: httpx.AsyncClient, body: Any,
                                                       field: str) -> None:
    r = await http.post("/api/v1/models/sum/predict", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert any(e["field"].startswith(field) for e in r.json()["errors"]), r.json()


async def test_malformed_json_is_422(http: httpx.AsyncClient) -> None:
    r = await http.post("/api/v1/models/sum/predict", content=b"{not json",
                        headers={"content-type": "application/json"})
    assert r.status_code == 422
    message = "the body is not valid JSON (unexpected character, expected a string key at line 1 column 2)"
    assert r.json()["errors"] == [{"field": "body", "message": message}]


async def test_empty_samples_are_refused(http: httpx.AsyncClient) -> None:
    r = await http.post("/api/v1/models/sum/predict/batch", json={"samples": []})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "samples"


async def test_openapi_still_documents_the_bodies(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    def schema(path: str) -> Any:
        ref = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]

    one = schema("/api/v1/models/{name}/predict")
    assert "features" in one["properties"] and one["required"] == ["features"]
    assert "samples" in schema("/api/v1/models/{name}/predict/batch")["properties"]
