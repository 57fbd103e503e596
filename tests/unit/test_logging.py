"""Every log line of a request is JSON and carries its request id."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog

from modelport.app import create_app
from modelport.bootstrap import build_services
from modelport.observability import logging as logs
from modelport.observability.context import principal_var, request_id_var, trace_id_var
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


async def test_alembic_says_warnings_only_unless_debugging(make_settings: Any,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A start logs one line when it migrates and none when there is nothing to migrate; alembic's
    own ~20 lines per start (its plugins, its migration context) appear only at debug."""
    settings = make_settings()

    async def start_lines(level: str) -> list[dict[str, Any]]:
        configure_logging(level, "json")
        services = build_services(settings)
        await services.start(serve=False)
        await services.close()
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]

    try:
        first = await start_lines("info")
        assert not [line for line in first if line["logger"].startswith("alembic")]
        [migrated] = [line for line in first if line["logger"] == "modelport.storage.migrate"]
        assert migrated["event"].startswith("database schema upgraded from empty to ")
        again = await start_lines("info")
        assert not [line for line in again if line["logger"].startswith(("alembic", "modelport.storage"))]
        configure_logging("debug", "json")  # what alembic then prints depends on the loggers
        # other tests' alembic runs configured in this process; that its level lets it through does not
        assert logging.getLogger("alembic.runtime.migration").isEnabledFor(logging.INFO)
    finally:
        logging.getLogger().handlers = []
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.NOTSET)


class _Writes(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


def json_logs(level: str) -> Iterator[_Writes]:
    """JSON logging at ``level`` into a stream that counts its writes; handlers removed after."""
    configure_logging(level, "json")
    stream = _Writes()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        logging.getLogger().handlers = []


@pytest.fixture
def info_logs() -> Iterator[_Writes]:
    yield from json_logs("info")


@pytest.fixture
def warning_logs() -> Iterator[_Writes]:
    yield from json_logs("warning")


async def test_access_lines_of_one_loop_pass_go_out_in_one_write(info_logs: _Writes) -> None:
    tokens = request_id_var.set("r-1"), principal_var.set("key:abc")
    try:
        for status in (200, 404, 503):
            logs.access_line("POST", "/api/v1/models/m/predict", status, 1.25)
    finally:
        request_id_var.reset(tokens[0])
        principal_var.reset(tokens[1])
    assert info_logs.writes == 0  # waiting for the end of this loop pass
    await asyncio.sleep(0)
    assert info_logs.writes == 1
    lines = [json.loads(line) for line in info_logs.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        f"POST /api/v1/models/m/predict {s} 1.2ms" for s in (200, 404, 503)]
    for line in lines:
        assert line["logger"] == "modelport.access" and line["level"] == "info"
        assert line["request_id"] == "r-1" and line["principal"] == "key:abc"
        stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
        assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_access_lines_outside_an_event_loop_are_written_at_once(info_logs: _Writes) -> None:
    logs.access_line("GET", "/x", 200, 0.5)
    assert json.loads(info_logs.getvalue())["event"] == "GET /x 200 0.5ms"


def test_no_access_lines_above_info(warning_logs: _Writes) -> None:
    logs.access_line("GET", "/x", 200, 0.5)
    assert warning_logs.getvalue() == ""


async def test_every_line_of_a_request_carries_its_context(info_logs: _Writes) -> None:
    """The access line and any other line logged during the request: request id, principal and
    trace id from the request's contextvars; a line's own keys win."""
    tokens = request_id_var.set("r-2"), principal_var.set("user:ann"), trace_id_var.set("ab" * 16)
    try:
        logs.access_line("GET", "/x", 200, 0.5)
        logging.getLogger("modelport.somewhere").warning("careful")
        structlog.get_logger("modelport.elsewhere").warning("own keys", request_id="mine")
    finally:
        request_id_var.reset(tokens[0])
        principal_var.reset(tokens[1])
        trace_id_var.reset(tokens[2])
    logs.access_line("GET", "/y", 200, 0.5)  # after the request: no context
    await asyncio.sleep(0)
    lines = {json.loads(line)["event"]: json.loads(line) for line in info_logs.getvalue().splitlines()}
    for event in ("GET /x 200 0.5ms", "careful"):
        line = lines[event]
        assert (line["request_id"], line["principal"], line["trace_id"]) == ("r-2", "user:ann", "ab" * 16)
    assert lines["GET /x 200 0.5ms"]["logger"] == "modelport.access"
    assert lines["own keys"]["request_id"] == "mine" and lines["own keys"]["principal"] == "user:ann"
    assert not {"request_id", "principal", "trace_id"} & set(lines["GET /y 200 0.5ms"])
