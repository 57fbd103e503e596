"""The one inference path every protocol edge calls.

Resolve the model (name + version or alias), validate inputs against its signature, run it
off the event loop through the manager, filter outputs, count metrics. Edges add nothing but
translation, so REST, OIP and gRPC answers agree by construction.

Around the model call sit the prediction cache (skipped when ``request.use_cache`` is false)
and the prediction log: every request, failed ones included, hands one record to the
write-behind recorder (a list append; see :mod:`modelport.tracking.log`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import SpanContext, Tracer

from modelport.cache import PredictionCache, cache_key
from modelport.core.calls import call_deadline
from modelport.core.streaming import TokenStream
from modelport.core.types import InferenceRequest, InferenceResponse, TensorDict, batch_rows
from modelport.core.validation import validate_inputs
from modelport.errors import InvalidInput, ModelportError
from modelport.observability.context import new_request_id
from modelport.observability.metrics import Metrics
from modelport.observability.tracing import timing_stages
from modelport.registry.manifest import ModelVersionInfo
from modelport.registry.registry import ModelRegistry
from modelport.runtime.base import Runtime
from modelport.runtime.generation import GenerationResult
from modelport.runtime.manager import LoadedModel, ModelManager
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.records import PredictionRecord, now
from modelport.traffic.router import TrafficRouter

log = logging.getLogger(__name__)


class InferenceService:
    def __init__(self, registry: ModelRegistry, manager: ModelManager, metrics: Metrics,
                 *, max_rows: int = 1024, cache: PredictionCache | None = None,
                 recorder: PredictionRecorder | None = None, tracer: Tracer | None = None,
                 capture: str = "full", capture_max_bytes: int = 65_536,
                 request_timeout: float = 30.0) -> None:
        self.registry = registry
        self.request_timeout = request_timeout
        self._children: dict[tuple[str, ...], Any] = {}  # metric children per label set
        self._success: dict[tuple[str, int, str], tuple[Any, Any, Any]] = {}
        self.manager = manager
        self.metrics = metrics
        self.max_rows = max_rows
        self.cache = cache
        self.recorder = recorder
        self.tracer = tracer or trace.NoOpTracer()
        #: spans cost a few microseconds each even when nothing records them: skip them when off
        self.traced = not isinstance(self.tracer, trace.NoOpTracer)
        self.capture = capture
        self.capture_max_bytes = capture_max_bytes
        self.traffic: TrafficRouter | None = None  # alias policies (#20), set by the composition root

    async def resolve(self, model: str, version: str | None) -> ModelVersionInfo:
        return await self.registry.resolve(model, version)

    async def resolve_for(self, request: InferenceRequest) -> ModelVersionInfo:
        """Resolve ``request``'s model ahead of the call (an edge needs its signature); a
        failure is logged for the request like any failed prediction."""
        try:
            return await self.registry.resolve(request.model, request.version)
        except ModelportError as exc:
            self.record_failure(request, exc.code)
            raise

    def record_failure(self, request: InferenceRequest, code: str) -> None:
        """Log a request that failed before reaching :meth:`infer` (its model did not resolve)."""
        self._record(request, None, None, time.perf_counter(), code)

    async def infer(self, request: InferenceRequest) -> InferenceResponse:
        started = time.perf_counter()
        # the edge's deadline: on the request, else the call's (#16), else the server default
        deadline = request.deadline or call_deadline() or time.monotonic() + self.request_timeout
        info: ModelVersionInfo | None = None
        cached = False
        try:
            info = request.resolved or await self.registry.resolve(request.model, request.version)
            if self.traffic is not None:
                info = await self.traffic.route(request, info)
            inputs = validate_inputs(info.signature, request.inputs, self.max_rows)
            loaded = await self.manager.get(info)
            outputs, cached = await self._predict(request, info, loaded, inputs, deadline)
            if request.outputs:
                missing = [o for o in request.outputs if o not in outputs]
                if missing:
                    raise InvalidInput(
                        f"unknown output(s) {', '.join(repr(m[:64]) for m in missing)}; "
                        f"model has {', '.join(outputs)}"
                    )
                outputs = {name: outputs[name] for name in request.outputs}
        except ModelportError as exc:
            self._count(request, info, exc.code)
            self._record(request, info, None, started, exc.code)
            raise
        except Exception:
            self._record(request, info, None, started, "internal_error")
            raise
        latency = time.perf_counter() - started
        self._record(request, info, outputs, started, None, cached)
        if request.shadow is not None and self.traffic is not None:
            self.traffic.mirror(request, info, inputs, outputs)
        ok, latencies, rows = self._success_metrics(info, request.protocol)
        ok.inc()
        latencies.observe(latency)
        rows.inc(next(iter(inputs.values())).shape[0])
        alias = request.version if request.version and not request.version.isdigit() else None
        return InferenceResponse(
            model=info.name, version=info.version, outputs=outputs,
            latency_ms=latency * 1000, request_id=request.request_id, alias=alias, cached=cached,
        )

    async def _predict(self, request: InferenceRequest, info: ModelVersionInfo, loaded: LoadedModel,
                       inputs: TensorDict, deadline: float) -> tuple[TensorDict, bool]:
        """The model call, behind the cache (keyed on the resolved version, see cache.py)."""
        key = None
        traced = self.traced
        if self.cache is not None and request.use_cache:
            if traced:
                with self.tracer.start_as_current_span("cache.lookup") as span:
                    key = cache_key(info.name, info.version, inputs)
                    hit = await self.cache.get(key)
                    span.set_attribute("cache.hit", hit is not None)
            else:
                key = cache_key(info.name, info.version, inputs)
                hit = await self.cache.get(key)
            if hit is not None:
                return hit, True
        if traced:
            with self.tracer.start_as_current_span("model.predict") as span, \
                    timing_stages(self.tracer, span.is_recording()):
                outputs = await loaded.predict(inputs, deadline)
        else:
            outputs = await loaded.predict(inputs, deadline)
        if key is not None and self.cache is not None:
            await self.cache.set(key, outputs)
        return outputs, False

    def _record(self, request: InferenceRequest, info: ModelVersionInfo | None,
                outputs: TensorDict | None, started: float, error: str | None,
                cached: bool = False, usage: GenerationResult | None = None) -> None:
        """Hand one record per request to the write-behind log (the whole batch in one row:
        the log's write rate follows requests, not rows, and a request id finds the call)."""
        if self.recorder is None or not self.recorder.enabled:
            return
        parent = trace.get_current_span().get_span_context()  # a traceparent's, even with tracing off
        if not self.traced:
            self._append(request, info, outputs, started, error, cached, parent, None, usage)
            return
        with self.tracer.start_as_current_span("prediction_log.record") as span:
            ctx = span.get_span_context() if span.is_recording() else None
            self._append(request, info, outputs, started, error, cached, parent, ctx, usage)

    def _append(self, request: InferenceRequest, info: ModelVersionInfo | None, outputs: TensorDict | None,
                started: float, error: str | None, cached: bool, parent: SpanContext,
                ctx: SpanContext | None, usage: GenerationResult | None = None) -> None:
        assert self.recorder is not None
        config = info.config if info is not None else None
        # positional, in PredictionRecord's field order: a third of the cost of 17 keywords
        self.recorder.record(PredictionRecord(
            request.request_id or new_request_id(),  # request_id
            now(),  # ts
            info.name if info is not None else request.model,  # model
            info.version if info is not None else None,  # version
            request.version if request.version and not request.version.isdigit() else None,  # alias
            request.principal,  # principal
            request.protocol,  # protocol
            error,  # error_code
            batch_rows(request.inputs),  # rows
            (time.perf_counter() - started) * 1000,  # latency_ms
            cached,  # cached
            request.inputs,  # inputs
            outputs,  # outputs
            config.capture if config and config.capture else self.capture,  # capture
            config.capture_max_bytes if config and config.capture_max_bytes is not None
            else self.capture_max_bytes,  # capture_max_bytes
            format(parent.trace_id, "032x") if parent.is_valid else None,  # trace_id
            ctx,  # span
            request.arm,  # arm
            usage.prompt_tokens if usage is not None else None,  # prompt_tokens
            usage.completion_tokens if usage is not None else None,  # completion_tokens
            usage.finish_reason if usage is not None else None,  # finish_reason
        ))

    async def stream(self, request: InferenceRequest) -> TokenStream:
        """Start a streaming generation (chat): resolve, validate, then pieces from ``runtime.stream``.

        The model runs in worker threads (see :mod:`modelport.core.streaming`); the stream holds a
        lease on the loaded version until it ends or is cancelled, and counts its outcome like
        ``infer`` does. Bad requests fail here, before any response has started.
        """
        info: ModelVersionInfo | None = None
        started = time.perf_counter()
        try:
            info = await self.registry.resolve(request.model, request.version)
            if self.traffic is not None:
                info = await self.traffic.route(request, info)
            inputs = validate_inputs(info.signature, request.inputs, self.max_rows)
            if next(iter(inputs.values())).shape[0] != 1:
                raise InvalidInput("a streaming request takes exactly one row")
            loaded = await self.manager.get(info)
            if type(loaded.runtime).stream is Runtime.stream:
                raise InvalidInput(f"model {info.name!r} ({info.flavor}) does not stream")
            if not loaded.runtime.ready:  # served by worker processes: no in-process model
                raise InvalidInput(f"model {info.name!r} runs in worker processes, which do not stream")
            pieces = loaded.runtime.stream(inputs, dict(request.parameters))
        except ModelportError as exc:
            self._count(request, info, exc.code)
            self._record(request, info, None, started, exc.code)
            raise
        loaded.inflight += 1
        loaded.drained.clear()
        resolved = info

        def finished(stream: TokenStream, outcome: str) -> None:
            loaded.inflight -= 1
            if loaded.inflight == 0:
                loaded.drained.set()
            self._count(request, resolved, outcome)
            # one log row per generation, like infer: the text, token counts, finish reason
            error = None if outcome in ("ok", "cancelled") else outcome
            self._record(request, resolved, {"text": np.array([stream.text], dtype=object)},
                         stream.started, error, usage=stream.result)
            if outcome == "ok":
                self.metrics.inference_latency.labels(resolved.name).observe(
                    time.perf_counter() - stream.started
                )

        stream = TokenStream(info, pieces, request_id=request.request_id, on_finish=finished)
        try:
            await stream.prime()
        except BaseException:  # a failed first token, or the call's deadline or hang-up (#16)
            stream.cancel()  # stops the model and gives the lease back
            raise
        return stream

    def _count(self, request: InferenceRequest, info: ModelVersionInfo | None, outcome: str) -> None:
        if info is None:
            return  # unknown model names are not label values (cardinality)
        self._child("predictions", info.name, str(info.version), request.protocol, outcome).inc()

    def _success_metrics(self, info: ModelVersionInfo, protocol: str) -> tuple[Any, Any, Any]:
        """(``ok`` predictions counter, latency histogram, rows counter) of a version and protocol,
        looked up once: label resolution costs more than the updates."""
        key = (info.name, info.version, protocol)
        found = self._success.get(key)
        if found is None:
            version = str(info.version)
            found = self._success[key] = (self._child("predictions", info.name, version, protocol, "ok"),
                                          self._child("latency", info.name),
                                          self._child("rows", info.name, version))
        return found

    def _child(self, metric: str, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            family = {"latency": self.metrics.inference_latency, "rows": self.metrics.prediction_rows,
                      "predictions": self.metrics.predictions}[metric]
            child = self._children[key] = family.labels(*labels)
        return child
