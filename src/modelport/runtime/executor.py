"""Runs model calls off the event loop with a bounded queue.

This is the per-version execution point the manager hands requests to. The thread pool is
shared and bounded (``model_threads``); each version keeps a count of waiting requests so a full
queue answers 503 at once instead of piling up work.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from modelport.core.types import TensorDict
from modelport.errors import ModelError, ModelportError, Overloaded
from modelport.observability.tracing import StageTimer, current_stage_timer
from modelport.runtime.base import Runtime

log = logging.getLogger(__name__)


class ThreadExecutor:
    """One model call per request, on a shared bounded thread pool."""

    def __init__(self, runtime: Runtime, pool: ThreadPoolExecutor, max_queue: int) -> None:
        self.runtime = runtime
        self.pool = pool
        self.max_queue = max_queue
        self.pending = 0

    def _call(self, inputs: TensorDict, timer: StageTimer | None = None) -> TensorDict:
        if timer is not None:
            timer.mark_started()
        try:
            return self.runtime.predict(inputs)
        except ModelportError:
            raise
        except Exception as exc:
            log.exception("model %s raised", self.runtime.artifact)
            raise ModelError(f"model raised {type(exc).__name__}: {exc}") from exc
        finally:
            if timer is not None:
                timer.mark_finished()

    async def submit(self, inputs: TensorDict) -> TensorDict:
        if self.pending >= self.max_queue:
            raise Overloaded("model queue is full; retry shortly", retry_after=1)
        self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, self._call, inputs, current_stage_timer())
        finally:
            self.pending -= 1

    async def close(self) -> None:
        return None
