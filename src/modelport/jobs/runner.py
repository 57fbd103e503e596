"""Run one job under a lease: claim the row, renew it while working, record the outcome.

The same code runs in an embedded worker process and in a Celery task. A job whose row
cannot be claimed (done, cancelled, or held by a live owner) is skipped, so duplicate
deliveries are harmless. Bad data fails the job for good; transient faults (database or
network down) give the job back to the queue and raise :class:`TransientJobError`, for the
engine to retry with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from modelport.errors import ModelportError
from modelport.jobs.context import JobCancelled, JobContext, JobServices, LeaseLost
from modelport.jobs.leases import new_owner

log = logging.getLogger(__name__)
TRANSIENT: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OperationalError,
                                              InterfaceError)


class TransientJobError(Exception):
    """A job failed for a reason that may go away (it was put back in the queue)."""


JobBody = Callable[[JobContext], Awaitable[tuple[dict[str, float], dict[str, Any]]]]


def _body(kind: str) -> JobBody:
    if kind == "train":
        from modelport.jobs.training import run_training

        return run_training
    from modelport.jobs.batch import run_batch

    return run_batch


def _bad_data(exc: BaseException) -> str | None:
    """A message for errors caused by the job's input, None for everything else."""
    if isinstance(exc, ModelportError) and exc.status < 500:
        return exc.detail
    if isinstance(exc, ValueError | TypeError | KeyError):
        return f"{type(exc).__name__}: {str(exc)[:1000]}"
    return None


class JobRunner:
    def __init__(self, services: JobServices) -> None:
        self.services = services
        self.repo = services.job_repo
        self.lease_s = services.settings.jobs.lease_s

    async def run(self, job_id: str, owner: str | None = None) -> str:
        owner = owner or new_owner()
        job = await self.repo.claim(job_id, owner, self.lease_s)
        if job is None:
            log.info("job %s not claimable here (done, cancelled or leased elsewhere)", job_id)
            return "skipped"
        ctx = JobContext(job=job, owner=owner, services=self.services, repo=self.repo)
        heartbeat = asyncio.create_task(self._heartbeat(ctx))
        try:
            metrics, result = await _body(job.kind)(ctx)
            ctx.check()
        except JobCancelled:
            await self.repo.finish(job_id, owner, "cancelled")
            return "cancelled"
        except LeaseLost:
            log.warning("job %s: lease lost to another worker; stopping", job_id)
            return "lost"
        except TRANSIENT as exc:
            log.warning("job %s: transient error, re-queued: %r", job_id, exc)
            try:
                await self.repo.release(job_id, owner, f"retrying after {type(exc).__name__}")
            except TRANSIENT:
                log.warning("job %s: could not release; the reaper will", job_id)
            raise TransientJobError(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            message = _bad_data(exc)
            if message is None:
                log.error("job %s failed:\n%s", job_id, traceback.format_exc())
                message = f"internal error ({type(exc).__name__}); see the worker log"
            await self.repo.finish(job_id, owner, "failed", error=message)
            return "failed"
        finally:
            heartbeat.cancel()
        if not await self.repo.finish(job_id, owner, "succeeded", metrics=metrics, result=result):
            return "lost"
        return "succeeded"

    async def _heartbeat(self, ctx: JobContext) -> None:
        interval = max(0.2, self.lease_s / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                ours, cancel = await self.repo.renew(ctx.job.id, ctx.owner, self.lease_s)
            except TRANSIENT:
                log.warning("job %s: lease renewal failed; retrying", ctx.job.id)
                continue
            ctx.lost = ctx.lost or not ours
            ctx.cancelled = ctx.cancelled or cancel
