"""The Celery engine, API side: publish job ids from the database outbox to the broker.

Submitting a job writes the job row and an outbox row in one transaction; this publisher
sends outbox rows to their queue and marks them published. While the broker is down the rows
simply wait (submits still succeed with 202), and go out when it returns. A row published
twice (a crash between send and mark) is harmless: the runner's lease makes the second
delivery a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from modelport.jobs.repo import JobRepo
from modelport.settings import Settings

log = logging.getLogger(__name__)


class CeleryEngine:
    uses_outbox = True

    def __init__(self, settings: Settings, repo: JobRepo) -> None:
        self.settings = settings
        self.repo = repo
        self.app: Any = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._broker_down = False
        self._closed = False

    async def start(self) -> None:
        from modelport.jobs.celery_app import make_celery

        self.app = make_celery(self.settings)
        self._task = asyncio.create_task(self._publisher(), name="job-outbox-publisher")
        self._wake.set()

    def notify(self) -> None:
        self._wake.set()

    def _send(self, job_id: str, queue: str) -> None:
        from modelport.jobs.celery_app import TASK_NAME

        self.app.send_task(TASK_NAME, args=[job_id], queue=queue, routing_key=queue, retry=True,
                           retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                         "interval_max": 0.5})

    async def publish_pending(self) -> int:
        """Publish what the outbox holds; stops at the first broker error (retried next pass)."""
        sent = 0
        for row in await self.repo.pending_outbox():
            try:
                await asyncio.to_thread(self._send, row.job_id, row.queue)
            except Exception as exc:
                if not self._broker_down:
                    log.warning("broker unreachable; %s job(s) wait in the outbox (%s: %s)",
                                len(await self.repo.pending_outbox()), type(exc).__name__, exc)
                self._broker_down = True
                await self.repo.outbox_failed(row.id)
                break
            if self._broker_down:
                log.info("broker reachable again; publishing the outbox")
                self._broker_down = False
            await self.repo.mark_published(row.id)
            sent += 1
        return sent

    async def _publisher(self) -> None:
        while not self._closed:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.jobs.poll_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.publish_pending()
            except Exception:
                log.warning("outbox publisher pass failed", exc_info=True)

    async def cancel_running(self, job_id: str) -> bool:
        """Celery workers stop a cancelled job cooperatively at its next step."""
        return False

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.app is not None:
            await asyncio.to_thread(self.app.close)
