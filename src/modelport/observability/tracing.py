"""OpenTelemetry tracing: one span tree per request, W3C ``traceparent`` in, OTLP out.

Off by default. It turns on from the standard variables: ``OTEL_TRACES_EXPORTER=otlp`` or an
``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`` (the exporter reads its endpoint, headers and protocol
options itself; ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` name the resource). The
provider belongs to the :class:`Tracing` object the composition root builds, never to the global
API, so tests and worker processes each own theirs.

The tree of one prediction::

    POST /api/v1/models/{name}/predict        (request, SERVER; parent from traceparent)
    ├── cache.lookup
    ├── model.predict
    │   ├── batch.wait                         (queued → the model call began)
    │   └── model.call                         (the runtime's predict on its batch)
    └── prediction_log.record                  (the buffer append)
    prediction_log.flush                       (background insert, linked to the requests)

``batch.wait`` and ``model.call`` are drawn after the fact from a :class:`StageTimer` that the
executor fills in (``mark_started`` / ``mark_finished``), because the model runs on a worker
thread where spans would need the context carried across. Even with tracing off, an incoming
``traceparent`` is honoured: its trace id is bound into every log line of the request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracer, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.observability.context import trace_id_var

PROPAGATOR = TraceContextTextMapPropagator()
UNTRACED_PREFIXES = ("/health", "/metrics")
_TRACE_HEADERS = (b"traceparent", b"tracestate")


class Tracing:
    """The tracer every component uses: a real one when a provider is given, else a no-op."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self.enabled = provider is not None
        self.tracer: Tracer = provider.get_tracer("modelport") if provider else NoOpTracer()

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()  # flushes the batch processor


def tracing_from_env(environ: Mapping[str, str] | None = None) -> Tracing:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Tracing()
    exporters = {e.strip() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()}
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if "none" in exporters or ("otlp" not in exporters and not endpoint):
        return Tracing()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attrs = {"service.name": env.get("OTEL_SERVICE_NAME", "modelport")}
    provider = TracerProvider(resource=Resource.create(attrs))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider)


def extract_context(carrier: Mapping[str, str]) -> otel_context.Context:
    """Parent context from ``traceparent``/``tracestate`` (HTTP headers or gRPC metadata)."""
    return PROPAGATOR.extract(carrier={k.lower(): v for k, v in carrier.items()})


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextmanager
def request_span(tracing: Tracing, name: str, carrier: Mapping[str, str],
                 attributes: dict[str, str] | None = None) -> Iterator[Span]:
    """The root span of one request (any protocol edge), with the trace id bound for logging."""
    parent = extract_context(carrier) if carrier else None
    if tracing.enabled:
        cm = tracing.tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER,
                                                  attributes=attributes)
        with cm as span:
            bound = trace_id_var.set(current_trace_id() or None)
            try:
                yield span
            finally:
                trace_id_var.reset(bound)
        return
    token = otel_context.attach(parent) if parent is not None else None
    try:
        bound = trace_id_var.set(current_trace_id() or None)
        try:
            yield trace.get_current_span()
        finally:
            trace_id_var.reset(bound)
    finally:
        if token is not None:
            otel_context.detach(token)


class TracingMiddleware:
    """Pure ASGI: the request span around everything else (it is added last, so outermost)."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNTRACED_PREFIXES):
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k in _TRACE_HEADERS}
        if not carrier and not self.tracing.enabled:  # nothing to record or to propagate to the logs
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        with request_span(self.tracing, f"{method} {scope['path']}", carrier,
                          {"http.request.method": method, "url.path": scope["path"]}) as span:
            async def send_traced(message: Message) -> None:
                if message["type"] == "http.response.start" and span.is_recording():
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_traced)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route and span.is_recording():
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)


# ------------------------------------------------------------------ stage timing
@dataclass(slots=True)
class StageTimer:
    """Wall-clock stamps (ns) of one request's trip through the executor/batcher."""

    queued_ns: int = 0
    started_ns: int = 0
    finished_ns: int = 0
    batch_size: int = 0

    def mark_started(self, batch_size: int = 1) -> None:
        self.started_ns = time.time_ns()
        self.batch_size = batch_size

    def mark_finished(self) -> None:
        self.finished_ns = time.time_ns()


stage_timer_var: ContextVar[StageTimer | None] = ContextVar("stage_timer", default=None)


def current_stage_timer() -> StageTimer | None:
    """The executor calls this on submit (in the request's task) and stamps the timer it gets."""
    return stage_timer_var.get()


@contextmanager
def timing_stages(tracer: Tracer, enabled: bool) -> Iterator[None]:
    """Around a model call: collect the executor's stamps, then draw them as child spans."""
    if not enabled:
        yield
        return
    timer = StageTimer(queued_ns=time.time_ns())
    token = stage_timer_var.set(timer)
    try:
        yield
    finally:
        stage_timer_var.reset(token)
        if timer.started_ns:
            tracer.start_span("batch.wait", start_time=timer.queued_ns).end(end_time=timer.started_ns)
            call = tracer.start_span("model.call", start_time=timer.started_ns,
                                     attributes={"batch.size": timer.batch_size})
            call.end(end_time=timer.finished_ns or time.time_ns())
