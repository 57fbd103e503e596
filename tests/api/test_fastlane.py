"""The pure-ASGI prediction lane answers exactly what the FastAPI routes answer.

Each request below is sent twice to the same app: once through the lane, once with the lane
switched off (the documented FastAPI route and the full middleware stack). Status, body (but
the per-request ``request_id`` and ``latency_ms``) and the headers a client reads must agree.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.api.fastlane import ROUTES, FastLane
from tests.conftest import mint_admin_headers

ROW = [5.1, 3.5, 1.4, 0.2]
COMPARED_HEADERS = ("content-type", "www-authenticate", "retry-after", "x-content-type-options",
                    "x-frame-options", "content-security-policy", "referrer-policy",
                    "ratelimit-limit", "ratelimit-remaining")

CASES: dict[str, dict[str, Any]] = {
    "one row": {"json": {"features": ROW}},
    "rows and alias": {"json": {"features": [ROW, ROW], "version": "production"}},
    "batch": {"json": {"samples": [ROW, [6.0, 2.2, 5.0, 1.5]]}, "batch": True},
    "client request id": {"json": {"features": ROW}, "headers": {"X-Request-ID": "client-id-1"}},
    "no-cache": {"json": {"features": ROW}, "headers": {"Cache-Control": "no-cache"}},
    "no credentials": {"json": {"features": ROW}, "auth": None},
    "bad key": {"json": {"features": ROW}, "auth": {"Authorization": "Bearer mp_nope"}},
    "basic auth": {"json": {"features": ROW}, "auth": {"Authorization": "Basic eDp5"}},
    "two credentials": {"json": {"features": ROW}, "headers": {"X-API-Key": "mp_other"}},
    "no predict scope": {"json": {"features": ROW}, "scopes": ["models:read"]},
    "unknown model": {"json": {"features": ROW}, "model": "nope"},
    "unknown alias": {"json": {"features": ROW, "version": "canary"}},
    "wrong width": {"json": {"features": [1.0, 2.0]}},
    "ragged rows": {"json": {"features": [[1.0, 2.0, 3.0, 4.0], [1.0]]}},
    "not a number": {"json": {"features": ["a", 1, 2, 3]}},
    "extra field": {"json": {"features": ROW, "colour": "red"}},
    "batch of one row": {"json": {"samples": ROW}, "batch": True},
    "broken json": {"content": b'{"features": [1, 2'},
    "NaN literal": {"content": b'{"features": [NaN, 1, 2, 3]}'},
    "NUL escape": {"content": b'{"features": [1, 2, 3, 4], "version": "\\u0000"}'},
    "raw NUL": {"content": b'{"features": [1, 2, 3, 4]}\x00'},
    "bad timeout": {"json": {"features": ROW}, "headers": {"X-Request-Timeout": "soon"}},
    "empty body": {"content": b""},
}


def _send(case: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    model = case.get("model", "iris")
    path = f"/api/v1/models/{model}/predict" + ("/batch" if case.get("batch") else "")
    auth = case.get("auth", headers)
    merged = {**(auth or {}), **case.get("headers", {})}
    if "content" in case:
        return {"url": path, "content": case["content"],
                "headers": {**merged, "Content-Type": "application/json"}}
    return {"url": path, "json": case["json"], "headers": merged}


def _view(r: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    body = r.json()
    for volatile in ("request_id", "latency_ms"):
        body.pop(volatile, None)
    return r.status_code, body, {h: r.headers[h] for h in COMPARED_HEADERS if h in r.headers}


@pytest.mark.parametrize("name", list(CASES))
async def test_lane_and_route_answer_alike(app: FastAPI, admin_headers: dict[str, str], name: str) -> None:
    lane = app.lane  # type: ignore[attr-defined]
    assert isinstance(lane, FastLane)
    case = CASES[name]
    headers = admin_headers
    if "scopes" in case:
        headers = await mint_admin_headers(app.state.services, case["scopes"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        fast = await c.post(**_send(case, headers))
        app.lane = None  # type: ignore[attr-defined]
        try:
            slow = await c.post(**_send(case, headers))
        finally:
            app.lane = lane  # type: ignore[attr-defined]
    assert _view(fast) == _view(slow)
    assert fast.headers["x-request-id"] == fast.json()["request_id"]
    if "X-Request-ID" in case.get("headers", {}):
        assert fast.headers["x-request-id"] == "client-id-1"


async def test_rate_limit_alike(app: FastAPI) -> None:
    """A key over its rate limit gets the same 429, headers included, on both paths."""
    lane = app.lane  # type: ignore[attr-defined]
    views = []
    for use_lane in (True, False):
        headers = await mint_admin_headers(app.state.services, ["predict"], rate_limit="1/minute")
        app.lane = lane if use_lane else None  # type: ignore[attr-defined]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            first = await c.post("/api/v1/models/iris/predict", json={"features": ROW}, headers=headers)
            second = await c.post("/api/v1/models/iris/predict", json={"features": ROW}, headers=headers)
        assert first.status_code == 200
        views.append(_view(second))
    app.lane = lane  # type: ignore[attr-defined]
    assert views[0] == views[1]
    assert views[0][0] == 429 and "retry-after" in views[0][2]


async def test_lane_counts_metrics_under_the_route_template(client: httpx.AsyncClient, app: FastAPI) -> None:
    registry = app.state.services.metrics.registry

    def count(status: str) -> float:
        labels = {"method": "POST", "route": ROUTES[0], "status": status}
        return float(registry.get_sample_value("modelport_http_requests_total", labels) or 0.0)

    before = count("200")
    r = await client.post("/api/v1/models/iris/predict", json={"features": ROW})
    assert r.status_code == 200
    assert count("200") == before + 1
    r = await client.post("/api/v1/models/nope/predict", json={"features": ROW})
    assert count("404") >= 1
    exposition = (await client.get("/metrics")).text
    assert 'route="/api/v1/models/{name}/predict",status="404"' in exposition


def _scope(path: str = "/api/v1/models/iris/predict", method: str = "POST", query: bytes = b"",
           **headers: str) -> dict[str, Any]:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
            "query_string": query, "headers": raw}


@pytest.mark.parametrize(("scope", "claimed"), [
    (_scope(content_length="10", content_type="application/json"), True),
    (_scope(content_length="10"), True),
    (_scope("/api/v1/models/iris/predict/batch", content_length="10"), True),
    (_scope(content_length="10", content_type="application/json; charset=utf-8"), True),
    (_scope(method="GET", content_length="10"), False),
    (_scope("/api/v1/models/iris", content_length="10"), False),
    (_scope("/api/v1/models/a/b/predict", content_length="10"), False),
    (_scope(query=b"x=1", content_length="10"), False),
    (_scope(), False),  # no Content-Length (chunked): the full app counts the body limit
    (_scope(content_length=str(10**9)), False),  # over the limit: the full app answers 413
    (_scope(content_length="10", content_type="application/x-www-form-urlencoded"), False),
    (_scope(content_length="10", content_type="text/plain"), False),
    (_scope(content_length="10", content_encoding="gzip"), False),
    (_scope(content_length="10", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"), False),
])
async def test_claims_only_the_plain_case(app: FastAPI, scope: dict[str, Any], claimed: bool) -> None:
    lane = app.lane  # type: ignore[attr-defined]
    assert (lane.claim(scope) is not None) is claimed


async def test_cors_origin_goes_to_the_full_app(make_settings: Any) -> None:
    from modelport.app import create_app

    app = create_app(make_settings(cors_origins=["https://app.example"]))
    lane = app.lane  # type: ignore[attr-defined]
    assert lane.claim(_scope(content_length="10", origin="https://app.example")) is None
    assert lane.claim(_scope(content_length="10")) is not None


async def test_lane_can_be_switched_off(make_settings: Any) -> None:
    from modelport.app import create_app

    assert create_app(make_settings(fast_lane=False)).lane is None  # type: ignore[attr-defined]
