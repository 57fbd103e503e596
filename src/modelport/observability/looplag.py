"""Event-loop lag: how late a timer fires, probed every ``interval`` seconds; the gauge holds the
worst lateness of the last ``window`` seconds, so a scrape every 15 s still sees a short stall.

Anything that blocks the loop (model code run on it by mistake, a slow JSON encode, a
synchronous file read) delays every request at once; this shows it directly as seconds of
lateness instead of a rise in every latency. One sleep per interval: negligible cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque

from prometheus_client import Gauge


class LoopLagProbe:
    """``start()`` in the lifespan, ``await stop()`` at shutdown."""

    def __init__(self, gauge: Gauge, interval: float, window: float = 15.0) -> None:
        self.gauge = gauge
        self.interval = interval
        self._recent: deque[float] = deque(maxlen=max(1, math.ceil(window / interval)) if interval > 0 else 1)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="modelport-loop-lag")

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self._recent.append(max(0.0, time.perf_counter() - started - self.interval))
            self.gauge.set(max(self._recent))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
