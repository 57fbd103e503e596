"""Where a merged batch actually runs: a bounded thread pool shared by every loaded version.

The batcher decides *what* runs (which requests merge into one call); a runner decides *where*.
:class:`ThreadRunner` is the default: model code never runs on the event loop, and the shared
pool (``model_threads``) bounds how many model calls run at once across all versions. Runtimes
that hold the GIL or need isolation use :class:`modelport.runtime.workers.ProcessRunner`.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from modelport.core.types import TensorDict
from modelport.errors import ModelError, ModelportError
from modelport.runtime.base import Runtime

log = logging.getLogger(__name__)


class Runner(Protocol):
    """Runs one batch at a time per slot; the batcher never starts more than ``slots`` at once."""

    slots: int

    def run(self, inputs: TensorDict) -> asyncio.Future[TensorDict]:
        """Start one model call; the future resolves on the event loop."""
        ...

    async def close(self) -> None: ...


def call_model(runtime: Runtime, inputs: TensorDict) -> TensorDict:
    """Call ``predict``, turning anything unexpected into a :class:`ModelError` (details logged)."""
    try:
        return runtime.predict(inputs)
    except ModelportError:
        raise
    except Exception as exc:
        log.warning("model %s raised %s on a batch", runtime.artifact.name, type(exc).__name__,
                    exc_info=True)
        raise ModelError(f"model raised {type(exc).__name__}: {exc}") from exc


class ThreadRunner:
    """Model calls on the shared pool. One slot: while a call runs, the next batch fills up."""

    def __init__(self, runtime: Runtime, pool: ThreadPoolExecutor, slots: int = 1) -> None:
        self.runtime = runtime
        self.pool = pool
        self.slots = slots

    def run(self, inputs: TensorDict) -> asyncio.Future[TensorDict]:
        return asyncio.get_running_loop().run_in_executor(self.pool, call_model, self.runtime, inputs)

    async def close(self) -> None:
        return None  # the pool is shared; the manager unloads the runtime
