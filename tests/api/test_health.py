"""Health, index, metrics and request ids."""

from __future__ import annotations

from typing import Any

import httpx

from modelport.app import create_app


async def test_live_ready_index(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    r = await client.get("/health/ready")
    # iris, breast-cancer, diabetes, digits: the test apps load them before ready
    # (preload_before_ready, tests/conftest.py); the background preload is tests/api/test_preload.py
    assert r.status_code == 200 and r.json()["checks"]["models_loaded"] == 4
    assert r.json()["checks"]["preloading"] is False
    index = (await client.get("/")).json()
    assert index["service"] == "modelport" and index["links"]["docs"].endswith("/docs")
    assert (await client.get("/docs")).status_code == 200
    assert "/api/v1/models/{name}/predict" in (await client.get("/openapi.json")).json()["paths"]


async def test_not_ready_before_start_and_while_draining(make_settings: Any) -> None:
    app = create_app(make_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        await app.state.services.start(serve=False)  # migrated, but not started serving
        r = await c.get("/health/ready")
        assert r.status_code == 503 and r.json()["status"] == "not ready"
        app.state.services.state.started = True
        assert (await c.get("/health/ready")).status_code == 200
        app.state.services.state.draining = True
        assert (await c.get("/health/ready")).status_code == 503
        await app.state.services.close()


async def test_metrics_count_routes_and_predictions(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/models/iris/predict", json={"features": [1, 2, 3, 4]})
    await client.post("/api/v1/models/iris/predict", json={"features": [1, 2, 3]})
    await client.get("/health/live")
    text = (await client.get("/metrics")).text
    route = 'route="/api/v1/models/{name}/predict"'
    assert f'modelport_http_requests_total{{method="POST",{route},status="200"}} 1.0' in text
    assert 'status="400"' in text
    assert 'modelport_predictions_total{model="iris",outcome="ok",protocol="rest",version="1"} 1.0' in text
    assert 'outcome="invalid_input"' in text
    assert "modelport_model_load_seconds_count" in text and "modelport_models_loaded 4.0" in text
    assert "/health/live" not in text


async def test_bad_request_id_replaced(client: httpx.AsyncClient) -> None:
    r = await client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 32
