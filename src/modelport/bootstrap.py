"""Composition root: builds every service from settings, with no I/O until ``start``.

The app's lifespan and the CLI both call :func:`build_services`; tests call it with their own
settings (or swap a field for a fake) so the whole stack runs without a network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.core.inference import InferenceService
from modelport.core.models import ModelService
from modelport.jobs.datasets import DatasetService
from modelport.jobs.service import JobService
from modelport.observability.metrics import Metrics
from modelport.registry.registry import ModelRegistry
from modelport.registry.store import ArtifactStore, make_store
from modelport.runtime.manager import ModelManager
from modelport.settings import Settings
from modelport.storage import migrate
from modelport.storage.engine import SessionFactory, make_engine, make_session_factory

log = logging.getLogger(__name__)


@dataclass
class ServiceState:
    """Readiness: false until start-up finished, false again once draining begins."""

    started: bool = False
    draining: bool = False

    @property
    def ready(self) -> bool:
        return self.started and not self.draining


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    store: ArtifactStore
    metrics: Metrics
    registry: ModelRegistry
    manager: ModelManager
    models: ModelService
    inference: InferenceService
    datasets: DatasetService
    jobs: JobService
    state: ServiceState = field(default_factory=ServiceState)

    async def start(self, *, serve: bool = True) -> None:
        """Migrate the database; when serving, add demo models and preload aliased versions."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        await migrate.upgrade(self.engine)
        if serve:
            if self.settings.demo_models and await self.registry.count() == 0:
                from modelport.demo import register_demo_models

                await register_demo_models(self.models)
            if self.settings.preload:
                await self.preload()
            await self.jobs.start()
            self.state.started = True

    async def preload(self) -> None:
        for model in await self.registry.list_models():
            for version in sorted(set(model.aliases.values())):
                info = next(v for v in model.versions if v.version == version)
                try:
                    await self.manager.get(info)
                except Exception:
                    log.exception("preloading %s v%s failed", info.name, info.version)

    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("database unreachable", exc_info=True)
            return False

    async def close(self) -> None:
        self.state.draining = True
        await self.jobs.close()
        await self.manager.close()
        await self.engine.dispose()


def build_services(settings: Settings, *, metrics: Metrics | None = None) -> Services:
    metrics = metrics or Metrics()
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    store = make_store(settings.artifact_url, settings.artifacts_dir)
    registry = ModelRegistry(sessions, store, cache_ttl=settings.registry_cache_ttl_s)
    manager = ModelManager(
        store, metrics, threads=settings.model_threads, max_queue=settings.max_queue,
        max_loaded=settings.max_loaded_models, allow_pickle=settings.allow_pickle,
    )
    models = ModelService(
        registry, manager, tmp_dir=settings.home / "tmp", allow_pickle=settings.allow_pickle,
        max_upload_bytes=settings.max_upload_bytes,
    )
    inference = InferenceService(registry, manager, metrics, max_rows=settings.max_batch_rows)
    datasets = DatasetService(sessions, store, tmp_dir=settings.home / "tmp",
                              max_upload_bytes=settings.max_upload_bytes)
    jobs = JobService(settings, sessions, datasets, registry)
    return Services(
        settings=settings, engine=engine, sessions=sessions, store=store, metrics=metrics,
        registry=registry, manager=manager, models=models, inference=inference,
        datasets=datasets, jobs=jobs,
    )
