"""Seed-shaped predict bodies: model_version, confidence_threshold, strict numbers, one message each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.api.predict_body import NONFINITE, parse_predict_body
from modelport.app import create_app
from modelport.settings import Settings

ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
async def app(make_settings: Any) -> AsyncIterator[FastAPI]:
    settings: Settings = make_settings(demo_models=True, demo_text_models=False)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_seeds_request_answers_their_fields(client: httpx.AsyncClient) -> None:
    for version in ("production", 1, "1"):
        r = await client.post("/api/v1/models/iris/predict",
                              json={"features": ROW, "model_version": version, "confidence_threshold": 0.8})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["prediction"] == body["predictions"][0] == 0
        assert body["model_version"] == body["version"] == 1
        assert isinstance(body["confidence"], float) and body["confidence"] == max(body["probabilities"][0])
        assert body["low_confidence"] == [body["confidence"] < 0.8]  # per row, as for any request


async def test_rows_keep_lists_even_one_row(client: httpx.AsyncClient) -> None:
    for body in ({"features": [ROW]}, {"features": [ROW, ROW]}):  # a list of rows, of any length
        answer = (await client.post("/api/v1/models/iris/predict", json=body)).json()
        assert "prediction" not in answer and len(answer["confidence"]) == len(body["features"])
        assert answer["confidence"] == [max(p) for p in answer["probabilities"]]


async def test_low_confidence_flags_rows_and_counts_them(client: httpx.AsyncClient, app: FastAPI) -> None:
    rows = [ROW, [6.0, 2.7, 5.0, 1.6]]  # a clear setosa and a borderline versicolor/virginica
    body = {"features": rows, "confidence_threshold": 0.99}
    r = await client.post("/api/v1/models/iris/predict", json=body)
    body = r.json()
    assert r.status_code == 200 and "prediction" not in body  # a list of rows: no scalar
    expected = [c < 0.99 for c in body["confidence"]]
    assert body["low_confidence"] == expected and any(expected)
    metrics = (await client.get("/metrics")).text
    line = next(x for x in metrics.splitlines() if x.startswith("modelport_low_confidence_total{"))
    assert 'model="iris"' in line and float(line.split()[-1]) == sum(expected)
    r = await client.post("/api/v1/models/iris/predict", json={"features": rows})
    assert "low_confidence" not in r.json()  # no threshold anywhere: no flags


async def test_a_version_config_gives_the_default_threshold(client: httpx.AsyncClient, app: FastAPI) -> None:
    services = app.state.services
    info = await services.registry.resolve("iris", "production")
    path = services.settings.home / "artifacts" / "iris" / "1" / "model.skops"
    await services.models.register_file("iris2", "sklearn", path, aliases=["production"],
                                        config=info.config.model_copy(update={"confidence_threshold": 1.0}))
    r = await client.post("/api/v1/models/iris2/predict", json={"features": ROW})
    assert r.json()["low_confidence"] == [True]
    r = await client.post("/api/v1/models/iris2/predict", json={"features": ROW, "confidence_threshold": 0.0})
    assert r.json()["low_confidence"] == [False]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"features": ["5.1", 3.5, 1.4, 0.2]}, "features", "features[0] is a string, not a number"),
    ({"features": [[5.1, 3.5], [1.0, True]]}, "features", "features[1][1] is a boolean"),
    ({"features": [[5.1, 3.5], [1.0]]}, "features", "same, non-zero number of values"),
    ({"features": []}, "features", "got an empty list"),
    ({"features": ROW, "version": 0}, "version", "at least 1"),
    ({"features": ROW, "version": 1, "model_version": 2}, "model_version", "disagree"),
    ({"features": ROW, "confidence_threshold": 2}, "confidence_threshold", "from 0 to 1"),
    ({"features": ROW, "model": "x"}, "model", "Extra inputs are not permitted"),
    ({"rows": ROW}, "rows", "Extra inputs"),
    ([ROW], "body", "expected a JSON object"),
])
async def test_each_bad_body_gets_one_message(client: httpx.AsyncClient, body: Any, field: str,
                                              message: str) -> None:
    r = await client.post("/api/v1/models/iris/predict", json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert len(problem["errors"]) == 1 and problem["errors"][0]["field"] == field, problem
    assert message in problem["errors"][0]["message"] and message in problem["detail"]


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"features": [5.1, 3.5, 1.4, 0.2]', "the body is not valid JSON"),
    (b"garbage", "the body is not valid JSON"),
    (b"[NaN]", "only finite numbers are allowed"),
])
async def test_bad_json_is_one_message_on_the_body(client: httpx.AsyncClient, raw: bytes,
                                                   message: str) -> None:
    r = await client.post("/api/v1/models/iris/predict", content=raw,
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors == [{"field": "body", "message": errors[0]["message"]}] and message in errors[0]["message"]


async def test_batch_route_takes_the_same_options(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict/batch",
                          json={"samples": [ROW], "model_version": 1, "confidence_threshold": 0.5})
    assert r.status_code == 200 and r.json()["low_confidence"] == [False] and "prediction" not in r.json()
    r = await client.post("/api/v1/models/iris/predict/batch", json={"samples": ROW})
    assert r.status_code == 422 and "for one row, send [[...]]" in r.json()["detail"]


async def test_a_trailing_slash_is_the_same_route(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict/", json={"features": ROW})
    assert r.status_code == 200 and r.json()["predictions"] == [0]
    listed = await client.get("/api/v1/models/")
    assert listed.status_code == 200 and listed.json() == (await client.get("/api/v1/models")).json()


async def test_nan_is_one_message_naming_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", content=b'{"features": [NaN, 3.5, 1.4, -Infinity]}',
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "features", "message": NONFINITE}]


def test_numbers_arrive_as_float64_rows() -> None:
    parsed = parse_predict_body(b'{"features": [1, 2.5]}', "features", flat_ok=True)
    assert parsed.rows.dtype.name == "float64" and parsed.rows.tolist() == [[1.0, 2.5]] and parsed.single_row
    parsed = parse_predict_body(b'{"samples": [[1e308, -1]], "version": "7"}', "samples", flat_ok=False)
    assert parsed.rows.shape == (1, 2) and parsed.version == "7" and not parsed.single_row
