"""Every log line of a request is JSON and carries its request id."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from modelport.app import create_app
from modelport.observability.logging import configure_logging


async def test_json_log_lines_carry_request_id(make_settings: Any, capsys: pytest.CaptureFixture[str],
                                               admin_headers: dict[str, str]) -> None:
    configure_logging("info", "json")
    try:
        app = create_app(make_settings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                         headers=admin_headers) as c:
                r = await c.post("/api/v1/models/missing/predict", json={"features": [1]},
                                 headers={"X-Request-ID": "req-42"})
                assert r.status_code == 404
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        access = [line for line in lines if line.get("logger") == "modelport.access"]
        assert access and access[-1]["request_id"] == "req-42"
        assert "404" in access[-1]["event"] and access[-1]["level"] == "info"
        assert all("timestamp" in line for line in lines)
    finally:
        logging.getLogger().handlers = []
