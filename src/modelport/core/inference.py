"""The one inference path every protocol edge calls.

Resolve the model (name + version or alias), validate inputs against its signature, run it
off the event loop through the manager, filter outputs, count metrics. Edges add nothing but
translation, so REST, OIP and gRPC answers agree by construction.
"""

from __future__ import annotations

import logging
import time

from modelport.core.streaming import TokenStream
from modelport.core.types import InferenceRequest, InferenceResponse
from modelport.core.validation import validate_inputs
from modelport.errors import InvalidInput, ModelportError
from modelport.observability.metrics import Metrics
from modelport.registry.manifest import ModelVersionInfo
from modelport.registry.registry import ModelRegistry
from modelport.runtime.base import Runtime
from modelport.runtime.manager import ModelManager

log = logging.getLogger(__name__)


class InferenceService:
    def __init__(self, registry: ModelRegistry, manager: ModelManager, metrics: Metrics,
                 *, max_rows: int = 1024) -> None:
        self.registry = registry
        self.manager = manager
        self.metrics = metrics
        self.max_rows = max_rows

    async def resolve(self, model: str, version: str | None) -> ModelVersionInfo:
        return await self.registry.resolve(model, version)

    async def infer(self, request: InferenceRequest) -> InferenceResponse:
        started = time.perf_counter()
        info: ModelVersionInfo | None = None
        try:
            info = await self.registry.resolve(request.model, request.version)
            inputs = validate_inputs(info.signature, request.inputs, self.max_rows)
            loaded = await self.manager.get(info)
            outputs = await loaded.predict(inputs)
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
            raise
        latency = time.perf_counter() - started
        self._count(request, info, "ok")
        self.metrics.inference_latency.labels(info.name).observe(latency)
        self.metrics.prediction_rows.labels(info.name, str(info.version)).inc(
            next(iter(inputs.values())).shape[0]
        )
        alias = request.version if request.version and not request.version.isdigit() else None
        return InferenceResponse(
            model=info.name, version=info.version, outputs=outputs,
            latency_ms=latency * 1000, request_id=request.request_id, alias=alias,
        )

    async def stream(self, request: InferenceRequest) -> TokenStream:
        """Start a streaming generation (chat): resolve, validate, then pieces from ``runtime.stream``.

        The model runs in worker threads (see :mod:`modelport.core.streaming`); the stream holds a
        lease on the loaded version until it ends or is cancelled, and counts its outcome like
        ``infer`` does. Bad requests fail here, before any response has started.
        """
        info: ModelVersionInfo | None = None
        try:
            info = await self.registry.resolve(request.model, request.version)
            inputs = validate_inputs(info.signature, request.inputs, self.max_rows)
            if next(iter(inputs.values())).shape[0] != 1:
                raise InvalidInput("a streaming request takes exactly one row")
            loaded = await self.manager.get(info)
            if type(loaded.runtime).stream is Runtime.stream:
                raise InvalidInput(f"model {info.name!r} ({info.flavor}) does not stream")
            pieces = loaded.runtime.stream(inputs, dict(request.parameters))
        except ModelportError as exc:
            self._count(request, info, exc.code)
            raise
        loaded.inflight += 1
        loaded.drained.clear()
        resolved = info

        def finished(stream: TokenStream, outcome: str) -> None:
            loaded.inflight -= 1
            if loaded.inflight == 0:
                loaded.drained.set()
            self._count(request, resolved, outcome)
            if outcome == "ok":
                self.metrics.inference_latency.labels(resolved.name).observe(
                    time.perf_counter() - stream.started
                )

        stream = TokenStream(info, pieces, request_id=request.request_id, on_finish=finished)
        await stream.prime()
        return stream

    def _count(self, request: InferenceRequest, info: ModelVersionInfo | None, outcome: str) -> None:
        if info is None:
            return  # unknown model names are not label values (cardinality)
        self.metrics.predictions.labels(info.name, str(info.version), request.protocol, outcome).inc()
