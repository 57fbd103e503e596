"""One prediction's span tree, with the parent taken from ``traceparent``, and its trace id in logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from modelport.observability.logging import configure_logging
from modelport.observability.tracing import Tracing, tracing_from_env
from tests.fixtures.tracking import register_sum, serve

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def json_logs() -> Any:
    """The app's JSON log lines, written to a buffer the test reads."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("info", "json")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    root.handlers = saved[0]
    root.setLevel(saved[1])
    structlog.reset_defaults()


async def test_span_tree_of_one_prediction(make_settings: Any, fake_flavors: None, tmp_path: Path,
                                           json_logs: io.StringIO) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = make_settings(log_flush_interval_s=60)
    async with serve(settings, tracing=Tracing(provider)) as (services, client):
        await register_sum(services, tmp_path)
        exporter.clear()
        r = await client.post("/api/v1/models/sum/predict", json={"features": [1, 2, 3]},
                              headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
                                       "X-Request-ID": "traced-1"})
        assert r.status_code == 200
        request_spans = list(exporter.get_finished_spans())
    spans = {s.name: s for s in exporter.get_finished_spans()}

    root = spans["POST /api/v1/models/{name}/predict"]
    assert root.kind == SpanKind.SERVER
    assert format(root.context.trace_id, "032x") == TRACE_ID
    assert root.parent is not None and format(root.parent.span_id, "016x") == PARENT_ID
    assert root.attributes is not None and root.attributes["http.response.status_code"] == 200

    def children(parent: Any) -> set[str]:
        return {s.name for s in request_spans if s.parent and s.parent.span_id == parent.context.span_id}

    assert children(root) == {"cache.lookup", "model.predict", "prediction_log.record"}
    predict = spans["model.predict"]
    assert children(predict) == {"batch.wait", "model.call"}
    wait, call = spans["batch.wait"], spans["model.call"]
    assert predict.start_time <= wait.start_time <= wait.end_time <= call.start_time <= call.end_time
    assert all(s.context.trace_id == root.context.trace_id for s in request_spans)

    # the background write is its own trace, linked to the request's log span
    flush = spans["prediction_log.flush"]
    record = spans["prediction_log.record"]
    assert flush.context.trace_id != root.context.trace_id
    assert any(link.context.span_id == record.context.span_id for link in flush.links)

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry.get("logger") == "modelport.access"
              and "/api/v1/models/sum/predict" in entry["event"]]
    assert access and access[0]["trace_id"] == TRACE_ID and access[0]["request_id"] == "traced-1"


async def test_traceparent_is_honoured_with_tracing_off(make_settings: Any, fake_flavors: None,
                                                        tmp_path: Path) -> None:
    async with serve(make_settings()) as (services, client):
        assert not services.tracing.enabled
        await register_sum(services, tmp_path)
        r = await client.post("/api/v1/models/sum/predict", json={"features": [1, 2, 3]},
                              headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
                                       "X-Request-ID": "untraced-1"})
        assert r.status_code == 200
        await services.tracking.recorder.flush()
        row = (await client.get("/api/v1/predictions/untraced-1")).json()
        assert row["trace_id"] == TRACE_ID


def test_exporter_is_off_by_default_and_on_from_otel_variables() -> None:
    assert not tracing_from_env({}).enabled
    assert not tracing_from_env({"OTEL_TRACES_EXPORTER": "none",
                                 "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}).enabled
    on = tracing_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert on.enabled
    on.shutdown()
    assert not tracing_from_env({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}).enabled
