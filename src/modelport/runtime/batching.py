"""Adaptive batching: concurrent requests to one model version merge into one model call.

Why: a model call has a fixed cost (Python dispatch, validation, 100 trees walked one by one)
that dwarfs the per-row cost, so 64 rows in one call cost little more than one row. The rule
is adaptive rather than a fixed wait:

* when the model is idle, whatever is queued runs at once (a lone request is never held back;
  requests that arrive in the same event-loop tick still merge, since dispatch runs on the
  next tick);
* while the model is busy, requests queue; when a slot frees up, up to ``max_batch_size`` rows
  of what queued run as one call. Under load, batches grow by themselves with concurrency;
* with several slots (worker processes), a free slot waits for a fuller batch while another
  slot is busy, but never longer than ``max_latency_ms`` after the oldest queued request.

Backpressure and deadlines live here too: a full queue answers :class:`Overloaded` at once, a
request whose deadline passes while queued is removed and never runs, and a cancelled request
(the client went away) is removed from the queue. Only requests whose inputs have the same
names, dtypes and trailing shapes merge (concatenated along axis 0); outputs are split back by
row counts. If a merged call raises, each of its requests is retried alone, so one bad request
fails alone.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.errors import DeadlineExceeded, ModelError, Overloaded, Unavailable
from modelport.observability.metrics import Metrics
from modelport.observability.tracing import StageTimer, current_stage_timer
from modelport.runtime.executor import Runner

log = logging.getLogger(__name__)
MergeKey = tuple[tuple[str, np.dtype[Any], tuple[int, ...]], ...]


@dataclass(frozen=True, slots=True)
class BatchConfig:
    max_batch_size: int = 64
    max_latency_ms: float = 5.0
    max_queue: int = 2048
    batchable: bool = True


@dataclass(slots=True, eq=False)
class _Item:
    inputs: TensorDict
    rows: int
    key: MergeKey
    future: asyncio.Future[TensorDict]
    enqueued: float
    timer: asyncio.TimerHandle | None = field(default=None)  # a deadline out of order (see below)
    stages: StageTimer | None = field(default=None)  # tracing: when the call began and ended
    deadline: float = math.inf
    live: bool = True  # False once its submit returned: the deadline sweep forgets it


def merge_key(inputs: TensorDict) -> MergeKey:
    """Requests merge when these are equal: names, dtypes and trailing shapes of their inputs."""
    if len(inputs) == 1:  # the common case, without a generator
        for name, arr in inputs.items():
            return ((name, arr.dtype, arr.shape[1:]),)
    return tuple((name, arr.dtype, arr.shape[1:]) for name, arr in inputs.items())


def _rows(inputs: TensorDict) -> int:
    for arr in inputs.values():
        return int(arr.shape[0]) if arr.ndim else 1
    return 0


def merge(items: list[_Item]) -> TensorDict:
    if len(items) == 1:
        return items[0].inputs
    return {name: np.concatenate([it.inputs[name] for it in items]) for name in items[0].inputs}


def split(outputs: TensorDict, items: list[_Item]) -> list[TensorDict]:
    """Split a merged call's outputs back into one dict per request, by row counts."""
    total = sum(it.rows for it in items)
    for name, arr in outputs.items():
        if np.ndim(arr) == 0 or len(arr) != total:
            raise ModelError(f"output {name!r} has {np.shape(arr)[:1]} rows for a batch of {total}")
    parts: list[TensorDict] = []
    start = 0
    for it in items:
        end = start + it.rows
        parts.append({name: arr[start:end] for name, arr in outputs.items()})
        start = end
    return parts


class Batcher:
    """One per loaded model version: a bounded queue in front of a :class:`Runner`."""

    def __init__(self, runner: Runner, config: BatchConfig, *, model: str, metrics: Metrics) -> None:
        self.runner = runner
        self.config = config
        self.model = model
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._busy = 0
        self._scheduled = False
        self._latency_timer: asyncio.TimerHandle | None = None
        #: requests with a deadline, in deadline order (see :meth:`_watch_deadline`)
        self._deadlines: deque[_Item] = deque()
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._deadline_due = math.inf  # when that timer fires
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._batch_size = metrics.batch_size.labels(model)
        self._queue_wait = metrics.queue_wait.labels(model)
        # both gauges move by increments, so the versions of one model (a swap) add up
        self._depth = metrics.queue_depth.labels(model)
        self._inflight = metrics.inflight.labels(model)
        #: counters for tests and the log: requests dropped before running, and why
        self.expired = 0
        self.cancelled = 0

    @property
    def depth(self) -> int:
        return len(self._queue)

    @property
    def busy(self) -> int:
        return self._busy

    # ------------------------------------------------------------------ submit side
    async def submit(self, inputs: TensorDict, deadline: float | None = None) -> TensorDict:
        """Queue ``inputs`` and wait for their rows of a model call.

        ``deadline`` is an absolute ``time.monotonic()``; once it passes, a queued request is
        removed (never runs) and a running one is abandoned, both with :class:`DeadlineExceeded`.
        """
        if self._closed:
            raise Unavailable("model version is being unloaded; retry", retry_after=1)
        if len(self._queue) >= self.config.max_queue:
            raise Overloaded(f"model {self.model} has {len(self._queue)} requests queued; retry shortly",
                             retry_after=1)
        loop = asyncio.get_running_loop()
        item = _Item(inputs, _rows(inputs), merge_key(inputs), loop.create_future(), time.monotonic(),
                     stages=current_stage_timer())
        if deadline is not None:
            remaining = deadline - item.enqueued
            if remaining <= 0:
                self.expired += 1
                raise DeadlineExceeded("request deadline passed before the model call")
            item.deadline = deadline
            self._watch_deadline(item, loop)
        self._queue.append(item)
        self._queued_rows += item.rows
        self._idle.clear()
        self._depth.inc()
        self._inflight.inc()
        self._schedule()
        try:
            return await item.future
        except asyncio.CancelledError:
            if self._remove(item):
                self.cancelled += 1
            raise
        finally:
            self._inflight.dec()
            item.live = False
            if item.timer is not None:
                item.timer.cancel()

    def _watch_deadline(self, item: _Item, loop: asyncio.AbstractEventLoop) -> None:
        """Expire ``item`` at its deadline: from one timer when deadlines come in order.

        Why: most requests share the default timeout, so their deadlines arrive in order, and
        a timer scheduled and cancelled per request cost about 2.5 us of each (almost none
        fires). Those join a queue in deadline order that one timer walks; finished requests
        leave it as the queue's head passes them. A deadline earlier than the queue's last (an
        ``X-Request-Timeout`` shorter than the default) gets a timer of its own.
        """
        queue = self._deadlines
        while queue and not queue[0].live:
            queue.popleft()
        if queue and item.deadline < queue[-1].deadline:
            item.timer = loop.call_later(item.deadline - item.enqueued, self._expire, item)
            return
        queue.append(item)
        if item.deadline < self._deadline_due:  # no timer, or one set for a head now gone
            if self._deadline_timer is not None:
                self._deadline_timer.cancel()
            self._deadline_due = item.deadline
            self._deadline_timer = loop.call_later(item.deadline - item.enqueued, self._sweep_deadlines)

    def _sweep_deadlines(self) -> None:
        self._deadline_timer, self._deadline_due = None, math.inf
        queue, now = self._deadlines, time.monotonic()
        while queue and (not queue[0].live or queue[0].deadline <= now):
            item = queue.popleft()
            if item.live:
                self._expire(item)
        if queue:
            self._deadline_due = queue[0].deadline
            self._deadline_timer = asyncio.get_running_loop().call_later(
                self._deadline_due - now, self._sweep_deadlines)

    def _remove(self, item: _Item) -> bool:
        """Take a request out of the queue (expired or cancelled); False if it already ran."""
        try:
            self._queue.remove(item)
        except ValueError:
            return False
        self._queued_rows -= item.rows
        self._depth.dec()
        self._check_idle()
        return True

    def _expire(self, item: _Item) -> None:
        if item.future.done():
            return
        if self._remove(item):
            self.expired += 1
            item.future.set_exception(DeadlineExceeded("request deadline passed while queued; not run"))
        else:
            item.future.set_exception(DeadlineExceeded("request deadline passed during the model call"))

    # ------------------------------------------------------------------ dispatch side
    def _schedule(self) -> None:
        if not self._scheduled and self._queue and self._busy < self.runner.slots:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._scheduled = False
        if self._latency_timer is not None:
            self._latency_timer.cancel()
            self._latency_timer = None
        cfg = self.config
        while self._queue and self._busy < self.runner.slots:
            if self._busy and cfg.batchable and self._queued_rows < cfg.max_batch_size:
                # another slot is busy: wait a little for a fuller batch, bounded by max_latency
                due = self._queue[0].enqueued + cfg.max_latency_ms / 1000
                delay = due - time.monotonic()
                if delay > 0:
                    self._latency_timer = asyncio.get_running_loop().call_later(delay, self._dispatch)
                    return
            self._start(self._take())

    def _take(self) -> list[_Item]:
        queue, cfg = self._queue, self.config
        first = queue.popleft()
        items, rows = [first], first.rows
        if cfg.batchable:
            while queue and queue[0].key == first.key and rows + queue[0].rows <= cfg.max_batch_size:
                item = queue.popleft()
                items.append(item)
                rows += item.rows
        self._queued_rows -= rows
        self._depth.dec(len(items))
        now = time.monotonic()
        for it in items:
            self._queue_wait.observe(now - it.enqueued)
        self._batch_size.observe(rows)
        return items

    def _start(self, items: list[_Item]) -> None:
        self._busy += 1
        rows = sum(it.rows for it in items)
        for it in items:
            if it.stages is not None:
                it.stages.mark_started(rows)
        try:
            future = self.runner.run(merge(items))
        except Exception as exc:  # merging failed (e.g. a runner refused the call)
            self._busy -= 1
            self._finish_error(items, exc)
            return
        future.add_done_callback(lambda f: self._done(items, f))

    def _done(self, items: list[_Item], future: asyncio.Future[TensorDict]) -> None:
        self._busy -= 1
        for it in items:
            if it.stages is not None:
                it.stages.mark_finished()
        exc: BaseException | None = (
            Unavailable("model call was cancelled (shutting down)") if future.cancelled()
            else future.exception()
        )
        if exc is None:
            try:
                parts = split(future.result(), items) if len(items) > 1 else [future.result()]
            except ModelError as err:
                exc = err
            else:
                for it, part in zip(items, parts, strict=True):
                    if not it.future.done():
                        it.future.set_result(part)
        if exc is not None:
            live = [it for it in items if not it.future.done()]
            if len(live) > 1 and not isinstance(exc, Unavailable):
                self._busy += 1
                task = asyncio.get_running_loop().create_task(self._retry_alone(live))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                self._finish_error(live, exc)
        self._schedule()
        self._check_idle()

    async def _retry_alone(self, items: list[_Item]) -> None:
        """A merged call raised: run each request on its own so only the bad one fails."""
        log.info("batch of %d requests to %s failed; retrying each alone", len(items), self.model)
        try:
            for it in items:
                if it.future.done():
                    continue
                try:
                    result = await self.runner.run(it.inputs)
                except Exception as exc:  # each request gets its own outcome
                    if not it.future.done():
                        it.future.set_exception(exc)
                else:
                    if not it.future.done():
                        it.future.set_result(result)
        finally:
            self._busy -= 1
            self._schedule()
            self._check_idle()

    def _finish_error(self, items: list[_Item], exc: BaseException) -> None:
        for it in items:
            if not it.future.done():
                it.future.set_exception(exc)

    def _check_idle(self) -> None:
        if not self._queue and not self._busy:
            self._idle.set()

    # ------------------------------------------------------------------ lifecycle
    async def drain(self, wait_s: float) -> bool:
        """Wait until nothing is queued or running; True if it emptied in time."""
        try:
            await asyncio.wait_for(self._idle.wait(), wait_s)
        except TimeoutError:
            return False
        return True

    async def close(self, grace: float = 5.0) -> None:
        """Refuse new requests, let queued and running ones finish (bounded), then stop the runner."""
        self._closed = True
        if not await self.drain(grace):
            log.warning("closing %s with %d queued and %d running", self.model, len(self._queue), self._busy)
        while self._queue:
            item = self._queue.popleft()
            self._depth.dec()
            if not item.future.done():
                item.future.set_exception(Unavailable("model version unloaded before the call"))
        self._queued_rows = 0
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer, self._deadline_due = None, math.inf
        await self.runner.close()

    def stats(self) -> dict[str, Any]:
        return {"queued": len(self._queue), "running": self._busy, "expired": self.expired,
                "cancelled": self.cancelled}
