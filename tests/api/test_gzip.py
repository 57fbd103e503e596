"""Large answers are gzipped when the client accepts it; small ones and other clients are not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.app import create_app


@pytest.fixture
async def app(make_settings: Any) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(demo_models=True, demo_text_models=False))
    async with application.router.lifespan_context(application):
        yield application


async def test_large_answers_are_gzipped_small_ones_not(client: httpx.AsyncClient) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2]] * 200
    r = await client.post("/api/v1/models/iris/predict/batch", json={"samples": rows},
                          headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert len(r.json()["predictions"]) == 200  # httpx decoded it
    assert int(r.headers["content-length"]) < len(r.content) / 4  # bytes on the wire vs decoded
    r = await client.post("/api/v1/models/iris/predict", json={"features": rows[0]},
                          headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in r.headers  # under MODELPORT_GZIP_MIN_BYTES
    r = await client.post("/api/v1/models/iris/predict/batch", json={"samples": rows},
                          headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers and len(r.json()["predictions"]) == 200


async def test_other_routes_too(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/models", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and {m["name"] for m in r.json()} >= {"iris"}
