"""``job.succeeded`` / ``job.failed`` events, read from the jobs table rather than from the runners.

Jobs finish in whichever process ran them (an embedded worker process, a Celery worker), so
each API replica scans for jobs that ended in the last ``window`` and emits one event per job
and outcome under a stable id (``job.<state>.<job id>``): the outbox keeps one delivery per
webhook however many replicas notice, and a replica that was down catches up on restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from modelport.background import BackgroundTask
from modelport.jobs.tables import JobRow
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.webhooks.service import WebhookService

log = logging.getLogger(__name__)
STATES = {"succeeded": "job.succeeded", "failed": "job.failed"}


class JobEvents:
    def __init__(self, sessions: SessionFactory, webhooks: WebhookService, *, poll_s: float = 1.0,
                 window: timedelta = timedelta(minutes=10)) -> None:
        self.sessions = sessions
        self.webhooks = webhooks
        self.poll_s = poll_s
        self.window = window
        self._seen: set[str] = set()
        self._task = BackgroundTask("job-events")

    async def start(self) -> None:
        self._task.start(self._run)

    async def close(self) -> None:
        await self._task.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.scan_once()
            except Exception:
                log.warning("job event scan failed; retrying", exc_info=True)
            await asyncio.sleep(self.poll_s)

    async def scan_once(self) -> int:
        """Emit the events of jobs that ended recently and were not emitted yet; how many."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(JobRow.id, JobRow.kind, JobRow.state, JobRow.finished_at, JobRow.result, JobRow.error,
                       JobRow.metrics)
                .where(JobRow.state.in_(tuple(STATES)), JobRow.finished_at >= utcnow() - self.window)
            )).all()
        emitted = 0
        for job_id, kind, state, finished_at, result, error, metrics in rows:
            event_id = f"job.{state}.{job_id}"
            if event_id in self._seen:
                continue
            data: dict[str, Any] = {"job_id": job_id, "kind": kind, "state": state,
                                    "finished_at": finished_at.isoformat() if finished_at else None,
                                    "result": result or {}, "metrics": metrics or {}, "error": error}
            await self.webhooks.emit(STATES[state], data, event_id=event_id)
            self._seen.add(event_id)
            emitted += 1
        return emitted
