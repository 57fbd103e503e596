"""A service's one background task: started once, cancelled and awaited on close.

Why: the traffic guard, the job-event scanner, the webhook dispatcher and the model preload each
kept the same start-once / cancel-and-await lifecycle for their task; here it is written once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundTask:
    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        """Started and not closed since (a task that ended on its own still counts)."""
        return self._task is not None

    @property
    def running(self) -> bool:
        """Started and not ended yet: a task that finished on its own no longer runs."""
        return self._task is not None and not self._task.done()

    def start(self, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start ``run()`` on the running loop unless it was started already."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(run(), name=self.name)

    async def wait(self) -> None:
        """Wait until the task ends on its own (at once when it is not running), without its
        result: cancelling the waiter leaves the task running, so what waits cannot stop it."""
        if self._task is not None:
            await asyncio.wait({self._task})

    async def close(self) -> None:
        """Cancel the task and wait for it to end (a no-op when it never started)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
