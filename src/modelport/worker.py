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
from modelport.jobs.datasets import DatasetService
from modelport.jobs.repo import JobRepo
from modelport.jobs.runner import JobRunner
from modelport.jobs.worker_process import preload
from modelport.observability.metrics import Metrics
from modelport.observability.tracing import tracing_from_env
from modelport.registry.registry import ModelRegistry
from modelport.registry.store import make_store
from modelport.runtime.archive import archive_options
from modelport.runtime.manager import ModelManager
from modelport.settings import Settings
from modelport.storage.engine import make_engine, make_session_factory
from modelport.storage.health import DatabaseHealth, engine_options
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.service import build_tracking

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
        await self.manager.close(grace=self.settings.shutdown_grace_s)
        await self.recorder.close()
        await self.engine.dispose()


def build_services(settings: Settings) -> WorkerServices:
    """The job services, wired as ``bootstrap.build_services`` wires them (no I/O here)."""
    metrics = Metrics()
    engine = make_engine(settings.resolved_database_url, **engine_options(settings))
    health = DatabaseHealth(settings.db_lookup_timeout_s, settings.db_outage_grace_s)
    sessions = make_session_factory(engine)
    store = make_store(settings.artifact_url, settings.artifacts_dir,
                       storage_options=settings.artifact_storage_options,
                       cache_dir=settings.home / "artifact-cache", cache_bytes=settings.artifact_cache_bytes)
    registry = ModelRegistry(sessions, store, cache_ttl=settings.registry_cache_ttl_s, health=health)
    manager = ModelManager(
        store, metrics, threads=settings.model_threads, max_queue=settings.max_queue,
        max_loaded=settings.max_loaded_models, allow_pickle=settings.allow_pickle,
        max_batch_size=settings.max_batch_size, max_latency_ms=settings.max_latency_ms,
        workers=settings.model_workers, extra_options=archive_options(settings),
    )
    models = ModelService(registry, manager, tmp_dir=settings.home / "tmp",
                          allow_pickle=settings.allow_pickle, max_upload_bytes=settings.max_upload_bytes)
    manager.allow_code = models.allow_code = settings.allow_code
    tracer = tracing_from_env().tracer
    recorder = build_tracking(settings, engine, sessions, metrics, registry, tracer).recorder
    inference = InferenceService(registry, manager, metrics, max_rows=settings.max_batch_rows,
                                 recorder=recorder, tracer=tracer, capture=settings.capture,
                                 capture_max_bytes=settings.capture_max_bytes,
                                 request_timeout=settings.request_timeout)
    datasets = DatasetService(sessions, store, tmp_dir=settings.home / "tmp",
                              max_upload_bytes=settings.max_upload_bytes)
    return WorkerServices(settings=settings, engine=engine, registry=registry, manager=manager,
                          models=models, inference=inference, datasets=datasets,
                          job_repo=JobRepo(sessions, max_attempts=settings.job_max_attempts),
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
