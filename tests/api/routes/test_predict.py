"""The ``/api/v1`` predict routes, one ordinary route in the middleware stack: every answer a
client reads (status, error code, the headers of the stack) for the plain and the odd cases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import mint_admin_headers

ROW = [5.1, 3.5, 1.4, 0.2]
ROUTE = "/api/v1/models/{name}/predict"

#: name -> (request, expected status, expected problem code or None)
CASES: dict[str, tuple[dict[str, Any], int, str | None]] = {
    "one row": ({"json": {"features": ROW}}, 200, None),
    "rows and alias": ({"json": {"features": [ROW, ROW], "version": "production"}}, 200, None),
    "batch": ({"json": {"samples": [ROW, [6.0, 2.2, 5.0, 1.5]]}, "batch": True}, 200, None),
    "no-cache": ({"json": {"features": ROW}, "headers": {"Cache-Control": "no-cache"}}, 200, None),
    "no credentials": ({"json": {"features": ROW}, "auth": None}, 401, "unauthorized"),
    "bad key": ({"json": {"features": ROW}, "auth": {"Authorization": "Bearer mp_no"}}, 401, "unauthorized"),
    "basic auth": ({"json": {"features": ROW}, "auth": {"Authorization": "Basic eDp5"}}, 401, "unauthorized"),
    "two credentials": ({"json": {"features": ROW}, "headers": {"X-API-Key": "mp_x"}}, 401, "unauthorized"),
    "no predict scope": ({"json": {"features": ROW}, "scopes": ["models:read"]}, 403, "forbidden"),
    "unknown model": ({"json": {"features": ROW}, "model": "nope"}, 404, "model_not_found"),
    "unknown alias": ({"json": {"features": ROW, "version": "canary"}}, 404, "version_not_found"),
    "wrong width": ({"json": {"features": [1.0, 2.0]}}, 400, "invalid_input"),
    "ragged rows": ({"json": {"features": [[1.0, 2.0, 3.0, 4.0], [1.0]]}}, 400, "invalid_input"),
    "not a number": ({"json": {"features": ["a", 1, 2, 3]}}, 422, "validation_error"),
    "extra field": ({"json": {"features": ROW, "colour": "red"}}, 422, "validation_error"),
    "batch of one row": ({"json": {"samples": ROW}, "batch": True}, 422, "validation_error"),
    "broken json": ({"content": b'{"features": [1, 2'}, 422, "validation_error"),
    "NaN literal": ({"content": b'{"features": [NaN, 1, 2, 3]}'}, 422, "validation_error"),
    "NUL escape": ({"content": b'{"features": [1, 2, 3, 4], "version": "\\u0000"}'}, 400, "invalid_input"),
    "raw NUL": ({"content": b'{"features": [1, 2, 3, 4]}\x00'}, 400, "invalid_input"),
    "bad timeout": ({"json": {"features": ROW}, "headers": {"X-Request-Timeout": "x"}}, 400, "invalid_input"),
    "empty body": ({"content": b""}, 422, "validation_error"),
}
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy")


def _send(case: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    model = case.get("model", "iris")
    path = f"/api/v1/models/{model}/predict" + ("/batch" if case.get("batch") else "")
    auth = case.get("auth", headers)
    merged = {**(auth or {}), **case.get("headers", {})}
    if "content" in case:
        return {"url": path, "content": case["content"],
                "headers": {**merged, "Content-Type": "application/json"}}
    return {"url": path, "json": case["json"], "headers": merged}


@pytest.mark.parametrize("name", list(CASES))
async def test_predict_answers(app: FastAPI, admin_headers: dict[str, str], name: str) -> None:
    case, status, code = CASES[name]
    headers = admin_headers
    if "scopes" in case:
        headers = await mint_admin_headers(app.state.services, case["scopes"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        r = await c.post(**_send(case, headers))
    assert r.status_code == status, r.text
    body = r.json()
    assert r.headers["x-request-id"] == body["request_id"]
    for header in SECURITY_HEADERS:  # the whole middleware stack ran, whatever the answer
        assert header in r.headers
    if code is None:
        assert r.headers["content-type"] == "application/json"
        assert len(body["predictions"]) == (2 if name in ("rows and alias", "batch") else 1)
    else:
        assert r.headers["content-type"] == "application/problem+json"
        assert body["code"] == code
        if status == 401:
            assert r.headers["www-authenticate"].startswith("Bearer")


async def test_client_request_id_is_kept(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", json={"features": ROW},
                          headers={"X-Request-ID": "client-id-1"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == r.json()["request_id"] == "client-id-1"


async def test_rate_limit_answers_429_with_its_headers(app: FastAPI) -> None:
    headers = await mint_admin_headers(app.state.services, ["predict"], rate_limit="1/minute")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        first = await c.post("/api/v1/models/iris/predict", json={"features": ROW}, headers=headers)
        second = await c.post("/api/v1/models/iris/predict", json={"features": ROW}, headers=headers)
    assert first.status_code == 200
    assert second.status_code == 429 and second.json()["code"] == "rate_limited"
    assert int(second.headers["retry-after"]) >= 1
    assert second.headers["ratelimit-limit"] == "1" and second.headers["ratelimit-remaining"] == "0"


async def test_metrics_count_under_the_route_template(client: httpx.AsyncClient, app: FastAPI) -> None:
    registry = app.state.services.metrics.registry

    def count(status: str) -> float:
        labels = {"method": "POST", "route": ROUTE, "status": status}
        return float(registry.get_sample_value("modelport_http_requests_total", labels) or 0.0)

    before = count("200")
    r = await client.post("/api/v1/models/iris/predict", json={"features": ROW})
    assert r.status_code == 200
    assert count("200") == before + 1
    await client.post("/api/v1/models/nope/predict", json={"features": ROW})
    assert count("404") >= 1


async def test_https_answers_carry_hsts(app: FastAPI, admin_headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as c:
        r = await c.post("/api/v1/models/iris/predict", json={"features": ROW}, headers=admin_headers)
    assert r.status_code == 200 and "strict-transport-security" in r.headers
