"""Shadow calls: a copy of a request sent to another version, logged and compared, never returned.

Off the request path by construction: the caller's answer is already computed when the request
is handed over, the hand-over is a ``put_nowait`` on a bounded queue (a full queue drops the
shadow call and counts it: shadows are shed first under load), and one background task runs
the queue in waves: everything waiting is submitted at once, so the shadow version's batcher
merges it into one model call and a slow shadow holds one model thread, not all of them.
Each result goes to the prediction log as its own row (``arm = "shadow"``, request id
``<caller's id>:shadow``), which the comparison endpoint pairs with the caller's row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_client import Counter

from modelport.core.traffic import SHADOW
from modelport.core.types import InferenceRequest, TensorDict, batch_rows
from modelport.observability.context import new_request_id
from modelport.observability.metrics import Metrics
from modelport.registry.manifest import ModelVersionInfo
from modelport.registry.registry import DEFAULT_ALIAS, ModelRegistry
from modelport.runtime.manager import ModelManager
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.records import PredictionRecord, now

log = logging.getLogger(__name__)
SHADOW_SUFFIX = ":shadow"
Emit = Callable[[str, dict[str, Any]], Awaitable[object]]


@dataclass(slots=True)
class ShadowCall:
    request_id: str
    model: str
    alias: str
    primary_version: int
    version: int
    principal: str | None
    protocol: str
    inputs: TensorDict
    primary_outputs: TensorDict
    capture: str
    capture_max_bytes: int


def disagreements(primary: TensorDict, shadow: TensorDict) -> int:
    """Rows whose first output differs between the two answers (numeric: beyond 1e-9)."""
    name = "predictions" if "predictions" in primary else next(iter(primary), None)
    if name is None or name not in shadow:
        return 0
    a, b = np.asarray(primary[name]), np.asarray(shadow[name])
    if a.shape != b.shape:
        return int(a.shape[0]) if a.ndim else 1
    if a.dtype.kind in "fiu" and b.dtype.kind in "fiu":
        differ = ~np.isclose(a.astype(float), b.astype(float), rtol=0, atol=1e-9)
    else:
        differ = a != b
    differ = np.asarray(differ)
    return int(differ.reshape(differ.shape[0], -1).any(axis=1).sum()) if differ.ndim else int(differ)


class ShadowRunner:
    def __init__(self, registry: ModelRegistry, manager: ModelManager, recorder: PredictionRecorder | None,
                 *, queue_size: int = 256, timeout: float = 30.0, emit: Emit | None = None,
                 disagreement_every_s: float = 60.0, metrics: Metrics | None = None) -> None:
        self.registry = registry
        self.manager = manager
        self.recorder = recorder
        self.timeout = timeout
        self.emit = emit
        self.queue_size = queue_size
        self.disagreement_every_s = disagreement_every_s
        self.dropped = 0
        self.calls = Counter(
            "modelport_shadow_calls_total", "Shadow calls by outcome (ok, disagree, error, dropped)",
            ["model", "version", "outcome"], registry=metrics.registry if metrics else None)
        self.completed = 0
        self._queue: asyncio.Queue[ShadowCall] | None = None
        self._task: asyncio.Task[None] | None = None
        self._notified: dict[tuple[str, str, int], float] = {}
        self._pending_events: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, request: InferenceRequest, info: ModelVersionInfo, version: int,
               inputs: TensorDict, outputs: TensorDict) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(self.queue_size)
            self._task = asyncio.get_running_loop().create_task(self._run(self._queue))
        config = info.config
        call = ShadowCall(
            request.request_id or new_request_id(), info.name, request.version or DEFAULT_ALIAS,
            info.version, version, request.principal, request.protocol, inputs, outputs,
            config.capture or "full",
            config.capture_max_bytes if config.capture_max_bytes is not None else 65_536,
        )
        try:
            self._queue.put_nowait(call)
            self._idle.clear()
        except asyncio.QueueFull:
            self.dropped += 1
            self.calls.labels(info.name, str(version), "dropped").inc()

    async def close(self) -> None:
        task, self._task, self._queue = self._task, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pending in list(self._pending_events):
            with contextlib.suppress(Exception):
                await pending

    async def wait_idle(self) -> None:
        """Until every shadow call handed over so far has finished (wrap it in a timeout)."""
        await self._idle.wait()

    async def _run(self, queue: asyncio.Queue[ShadowCall]) -> None:
        while True:
            wave = [await queue.get()]
            while not queue.empty() and len(wave) < 256:
                wave.append(queue.get_nowait())
            await asyncio.gather(*(self._one(call) for call in wave), return_exceptions=True)
            if queue.empty():
                self._idle.set()

    async def _one(self, call: ShadowCall) -> None:
        started = time.perf_counter()
        outputs: TensorDict | None = None
        error: str | None = None
        info: ModelVersionInfo | None = None
        try:
            info = await self.registry.resolve(call.model, str(call.version))
            loaded = await self.manager.get(info)
            outputs = await loaded.predict(call.inputs, time.monotonic() + self.timeout)
        except Exception as exc:  # a shadow's failure is data, never the caller's problem
            error = getattr(exc, "code", "internal_error")
            log.debug("shadow call to %s v%s failed: %s", call.model, call.version, type(exc).__name__)
        self.completed += 1
        if self.recorder is not None and self.recorder.enabled:
            self.recorder.record(PredictionRecord(
                call.request_id + SHADOW_SUFFIX, now(), call.model, call.version, call.alias, call.principal,
                call.protocol, error, batch_rows(call.inputs), (time.perf_counter() - started) * 1000, False,
                call.inputs, outputs, call.capture, call.capture_max_bytes, None, None, SHADOW,
            ))
        differing = disagreements(call.primary_outputs, outputs) if outputs is not None else 0
        outcome = "error" if outputs is None else "disagree" if differing else "ok"
        self.calls.labels(call.model, str(call.version), outcome).inc()
        if differing and self.emit is not None:
            self._notify(call, differing)

    async def _emit(self, kind: str, data: dict[str, Any]) -> None:
        assert self.emit is not None
        try:
            await self.emit(kind, data)
        except Exception:
            log.warning("could not record the %s event", kind, exc_info=True)

    def _notify(self, call: ShadowCall, rows: int) -> None:
        """``shadow.disagreement``, at most once per alias and shadow version per interval."""
        key = (call.model, call.alias, call.version)
        moment = time.monotonic()
        if moment - self._notified.get(key, -1e18) < self.disagreement_every_s or self.emit is None:
            return
        self._notified[key] = moment
        data = {"model": call.model, "alias": call.alias, "version": call.version,
                "primary_version": call.primary_version, "request_id": call.request_id, "rows": rows}
        task = asyncio.get_running_loop().create_task(self._emit("shadow.disagreement", data))
        self._pending_events.add(task)
        task.add_done_callback(self._pending_events.discard)
