"""Worker entrypoint, beside ``app.py``: what a job worker process builds, and nothing more.

Embedded worker processes and Celery pool children call :func:`build` at start (Celery from
``worker_process_init``): their own event loop, database engine and the few services job bodies
use (:class:`~modelport.jobs.context.JobServices`), none inherited from the parent. Why not
``bootstrap.build_services``: the server's composition root builds the job engine that starts
these processes, so the worker building it too was an import cycle; and a worker needs no
auth, cache, search, tracking or job engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.core.inference import InferenceService
from modelport.core.models import ModelService
from modelport.core_wiring import build_core
from modelport.jobs.datasets import DatasetService
from modelport.jobs.repo import JobRepo
from modelport.jobs.runner import JobRunner
from modelport.observability.metrics import Metrics
from modelport.observability.tracing import tracing_from_env
from modelport.processes import preload
from modelport.registry.registry import ModelRegistry
from modelport.runtime.manager import ModelManager
from modelport.settings import Settings
from modelport.tracking.log import PredictionRecorder

T = TypeVar("T")


@dataclass
class WorkerServices:
    """What job bodies use (satisfies :class:`~modelport.jobs.context.JobServices`)."""

    settings: Settings
    engine: AsyncEngine
    registry: ModelRegistry
    manager: ModelManager
    models: ModelService
    inference: InferenceService
    datasets: DatasetService
    job_repo: JobRepo
    recorder: PredictionRecorder  # batch-job predictions are logged like the API's (#17)

    async def close(self) -> None:
        await self.manager.close(grace=self.settings.server.shutdown_grace_s)
        await self.recorder.close()
        await self.engine.dispose()


def build_services(settings: Settings) -> WorkerServices:
    """The job services, wired as ``bootstrap.build_services`` wires them (no I/O here)."""
    core = build_core(settings, Metrics(), tracing_from_env().tracer)  # no prediction cache: jobs
    recorder = core.tracking.recorder
    engine, sessions = core.engine, core.sessions
    registry, manager, models, inference, datasets = (core.registry, core.manager, core.models,
                                                      core.inference, core.datasets)
    return WorkerServices(settings=settings, engine=engine, registry=registry, manager=manager,
                          models=models, inference=inference, datasets=datasets,
                          job_repo=JobRepo(sessions, max_attempts=settings.jobs.max_attempts),
                          recorder=recorder)


@dataclass
class WorkerResources:
    """One worker process's loop and services, used by every job it runs."""

    loop: asyncio.AbstractEventLoop
    services: WorkerServices

    def run_job(self, job_id: str) -> str:
        try:
            return self.loop.run_until_complete(JobRunner(self.services).run(job_id))
        finally:  # the job's predictions reach the log now, not when the process exits
            self.loop.run_until_complete(self.services.recorder.flush(final=True))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.loop.run_until_complete(self.services.close())
        self.loop.close()


def build(settings: Settings) -> WorkerResources:
    preload()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    services = build_services(settings)
    loop.run_until_complete(services.recorder.start())
    return WorkerResources(loop=loop, services=services)
