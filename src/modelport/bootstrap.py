"""Composition root: builds every service from settings, with no I/O until ``start``.

The app's lifespan and the CLI both call :func:`build_services`; tests call it with their own
settings (or swap a field for a fake) so the whole stack runs without a network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.cache import PredictionCache, make_cache
from modelport.core.inference import InferenceService
from modelport.core.models import ModelService
from modelport.jobs.datasets import DatasetService
from modelport.jobs.service import JobService
from modelport.observability.metrics import Metrics
from modelport.observability.tracing import Tracing, tracing_from_env
from modelport.ratelimit import RateLimiter
from modelport.registry.registry import ModelRegistry
from modelport.registry.store import ArtifactStore, make_store
from modelport.runtime.archive import archive_options
from modelport.runtime.manager import ModelManager
from modelport.search.service import SearchService
from modelport.security.service import AuthService
from modelport.settings import Settings
from modelport.storage import migrate
from modelport.storage.engine import SessionFactory, make_engine, make_session_factory
from modelport.storage.health import DatabaseHealth, engine_options
from modelport.tracking.service import Tracking, build_tracking

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
    auth: AuthService
    limiter: RateLimiter
    tracking: Tracking
    cache: PredictionCache | None
    tracing: Tracing
    search: SearchService
    datasets: DatasetService
    jobs: JobService
    state: ServiceState = field(default_factory=ServiceState)

    async def start(self, *, serve: bool = True) -> None:
        """Migrate the database; when serving, add demo models and preload aliased versions."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        await migrate.upgrade(self.engine)
        await self.tracking.start()
        if serve:
            self.auth.start()
            if self.auth.enabled:
                from modelport.security.admin import ensure_admin

                await ensure_admin(self.auth, self.settings.home)
            if self.settings.demo_models and await self.registry.count() == 0:
                from modelport.demo import register_demo_models

                await register_demo_models(self.models, self.tracking.references,
                                           text_models=self.settings.demo_text_models)
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
        await self.manager.close(grace=self.settings.shutdown_grace_s)
        await self.tracking.close()  # flush the prediction log after the last request finished
        if self.cache is not None:
            await self.cache.close()
        self.tracing.shutdown()
        await self.limiter.close()
        await self.auth.close()  # trust (#17): its background lookups use the engine
        await self.engine.dispose()


def build_services(settings: Settings, *, metrics: Metrics | None = None,
                   tracing: Tracing | None = None) -> Services:
    metrics = metrics or Metrics()
    tracing = tracing or tracing_from_env()
    engine = make_engine(settings.resolved_database_url, **engine_options(settings))
    health = DatabaseHealth(settings.db_lookup_timeout_s, settings.db_outage_grace_s)  # trust (#17)
    sessions = make_session_factory(engine)
    store = make_store(settings.artifact_url, settings.artifacts_dir)
    registry = ModelRegistry(sessions, store, cache_ttl=settings.registry_cache_ttl_s, health=health)
    manager = ModelManager(
        store, metrics, threads=settings.model_threads, max_queue=settings.max_queue,
        max_loaded=settings.max_loaded_models, allow_pickle=settings.allow_pickle,
        max_batch_size=settings.max_batch_size, max_latency_ms=settings.max_latency_ms,
        workers=settings.model_workers,
        runtime_options=archive_options(settings),  # trust (#17): archives unpack under home
    )
    models = ModelService(
        registry, manager, tmp_dir=settings.home / "tmp", allow_pickle=settings.allow_pickle,
        max_upload_bytes=settings.max_upload_bytes,
    )
    tracking = build_tracking(settings, engine, sessions, metrics, registry, tracing.tracer)
    cache = make_cache(settings, metrics)
    inference = InferenceService(
        registry, manager, metrics, max_rows=settings.max_batch_rows, cache=cache,
        recorder=tracking.recorder, tracer=tracing.tracer, capture=settings.capture,
        capture_max_bytes=settings.capture_max_bytes, request_timeout=settings.request_timeout,
    )
    datasets = DatasetService(sessions, store, tmp_dir=settings.home / "tmp",
                              max_upload_bytes=settings.max_upload_bytes)
    jobs = JobService(settings, sessions, datasets, registry)
    search = SearchService(sessions, inference, embed_batch=settings.search_embed_batch,
                           max_top_k=settings.search_max_top_k, max_text=settings.max_string_length)
    return Services(
        settings=settings, engine=engine, sessions=sessions, store=store, metrics=metrics,
        registry=registry, manager=manager, models=models, inference=inference,
        tracking=tracking, cache=cache, tracing=tracing, search=search, datasets=datasets, jobs=jobs,
        auth=AuthService(settings, sessions, health), limiter=RateLimiter(settings.redis_url),
    )
