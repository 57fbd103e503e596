"""The raw ASGI predict routes: they serve every request inside the middleware stack, keep the
body limit and FastAPI's 422 wording, and answer as the documented FastAPI routes do."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from modelport.api.routes import predict_asgi
from modelport.api.routes.predict_asgi import PredictEndpoint

ROW = {"features": [5.1, 3.5, 1.4, 0.2]}
JSON = {"content-type": "application/json"}


async def _served_by(app: FastAPI, auth: dict[str, str], **request: Any) -> tuple[httpx.Response, bool]:
    """The answer, and whether the raw endpoint produced it."""
    seen: list[bool] = []
    original = PredictEndpoint.__call__

    async def spy(self: PredictEndpoint, scope: Any, receive: Any, send: Any) -> None:
        seen.append(True)
        await original(self, scope, receive, send)

    PredictEndpoint.__call__ = spy  # type: ignore[method-assign]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=auth) as c:
            r = await c.post("/api/v1/models/iris/predict", **request)
    finally:
        PredictEndpoint.__call__ = original  # type: ignore[method-assign]
    return r, bool(seen)


async def test_plain_requests_take_the_raw_route(app: FastAPI, admin_headers: dict[str, str]) -> None:
    r, raw = await _served_by(app, admin_headers, json=ROW)
    assert r.status_code == 200 and raw
    assert len(r.json()["predictions"]) == 1 and "x-content-type-options" in r.headers


async def test_both_routes_answer_the_same_shapes(app: FastAPI, admin_headers: dict[str, str]) -> None:
    """The seeds' single-row scalars and the lists of a multi-row body, raw route and FastAPI's alike
    (the documented routes answer once the raw ones are taken out of the router)."""
    seed = {**ROW, "model_version": "production", "confidence_threshold": 0.8}
    rows = {"features": [ROW["features"], [6.0, 2.7, 5.0, 1.6]], "confidence_threshold": 0.8}
    raw_routes = [route for route in app.router.routes
                  if isinstance(getattr(route, "endpoint", None), PredictEndpoint)]
    assert len(raw_routes) == 2

    answers: dict[bool, list[dict[str, Any]]] = {}
    for body in (seed, rows):
        r, raw = await _served_by(app, admin_headers, json=body)
        answers.setdefault(raw, []).append(r.json())
        routes = list(app.router.routes)
        app.router.routes[:] = [route for route in routes if route not in raw_routes]
        try:
            r, raw = await _served_by(app, admin_headers, json=body)
        finally:
            app.router.routes[:] = routes
        answers.setdefault(raw, []).append(r.json())
    one, many = answers[True]
    assert [{k: v for k, v in a.items() if k not in {"latency_ms", "request_id"}} for a in answers[True]] == [
        {k: v for k, v in a.items() if k not in {"latency_ms", "request_id"}} for a in answers[False]]
    assert one["prediction"] == 0 and one["confidence"] == max(one["probabilities"][0])
    assert one["model_version"] == 1 and one["low_confidence"] == [one["confidence"] < 0.8]
    assert "prediction" not in many and len(many["confidence"]) == len(many["low_confidence"]) == 2


async def test_body_limit_and_json_errors(app: FastAPI, admin_headers: dict[str, str]) -> None:
    limit = app.state.services.settings.server.max_body_bytes
    r, _ = await _served_by(app, admin_headers, content=b"[" + b"1," * limit + b"1]", headers=JSON)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    async def chunks() -> Any:
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000

    r, _ = await _served_by(app, admin_headers, content=chunks(), headers=JSON)
    assert r.status_code == 413
    r, _ = await _served_by(app, admin_headers, content=b"{nope", headers=JSON)
    assert r.status_code == 422 and r.json()["errors"][0]["message"].startswith("the body is not valid JSON")


def test_routes_are_left_out_of_the_schema() -> None:
    assert all(not route.include_in_schema for route in predict_asgi.routes())
