"""Composition root: builds every service from settings, with no I/O until ``start``.

The app's lifespan and the CLI both call :func:`build_services`; tests call it with their own
settings (or swap a field for a fake) so the whole stack runs without a network.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.background import BackgroundTask
from modelport.cache import PredictionCache, make_cache
from modelport.core.inference import InferenceService
from modelport.core.models import ModelService
from modelport.core_wiring import build_core
from modelport.jobs.datasets import DatasetService
from modelport.jobs.service import JobService
from modelport.observability.metrics import Metrics
from modelport.observability.tracing import Tracing, tracing_from_env
from modelport.ratelimit import RateLimiter
from modelport.registry.registry import ModelRegistry
from modelport.registry.store import ArtifactStore
from modelport.runtime.manager import ModelManager
from modelport.search.service import SearchService
from modelport.security.service import AuthService
from modelport.settings import Settings
from modelport.storage import migrate
from modelport.storage.engine import SessionFactory
from modelport.tracking.service import Tracking
from modelport.traffic.guard import GuardWatcher
from modelport.traffic.router import TrafficRouter
from modelport.traffic.service import TrafficService
from modelport.traffic.shadow import ShadowRunner
from modelport.webhooks.dispatch import Dispatcher
from modelport.webhooks.jobs import JobEvents
from modelport.webhooks.service import WebhookService

log = logging.getLogger(__name__)


@dataclass
class ServiceState:
    """Readiness: false until start-up finished, false again once draining begins. ``preloading``
    says the aliased versions are still loading (in the background, or before ready)."""

    started: bool = False
    draining: bool = False
    preloading: bool = False

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
    # --- traffic control and webhooks (#20)
    traffic: TrafficService
    guard: GuardWatcher
    webhooks: WebhookService
    dispatcher: Dispatcher
    job_events: JobEvents
    state: ServiceState = field(default_factory=ServiceState)
    preloader: BackgroundTask = field(default_factory=lambda: BackgroundTask("preload"))

    async def start(self, *, serve: bool = True) -> None:
        """Migrate the database; when serving, add demo models and preload aliased versions.

        The preload runs in the background after start-up (#16): loading the models (importing
        skops and torch among them) took most of a cold start, and a request for a version still
        loading waits for that load anyway (``ModelManager.load`` holds one lock per version).
        ``models.preload_before_ready`` keeps readiness waiting for it instead.
        """
        self.settings.home.mkdir(parents=True, exist_ok=True)
        await migrate.upgrade(self.engine)
        await self.tracking.start()
        if serve:
            await self.dispatcher.start()  # traffic control and webhooks (#20)
            await self.job_events.start()
            self.auth.start()
            if self.auth.enabled:
                from modelport.security.admin import ensure_admin

                await ensure_admin(self.auth, self.settings.home)
            if self.settings.models.demo and await self.registry.count() == 0:
                from modelport.demo import register_demo_models

                await register_demo_models(self.models, self.tracking.references,
                                           text_models=self.settings.models.demo_text)
            models = self.settings.models
            if models.preload and models.preload_before_ready:
                await self.preload()
            await self.jobs.start()
            await self.guard.start()
            if models.preload and not models.preload_before_ready:
                self.preloader.start(self._preload_in_background)  # last: nothing after it can fail
            self.state.started = True

    async def preload(self) -> None:
        """Load every aliased version; one that fails is logged and skipped (it loads on demand later).
        Once draining has begun no further version loads: the process is about to exit."""
        self.state.preloading = True
        try:
            for model in await self.registry.list_models():
                for version in sorted(set(model.aliases.values())):
                    if self.state.draining:
                        return
                    info = next(v for v in model.versions if v.version == version)
                    try:
                        await self.manager.get(info)
                    except Exception:
                        log.exception("preloading %s v%s failed", info.name, info.version)
        finally:
            self.state.preloading = False

    async def _preload_in_background(self) -> None:
        """The preload as a background task: nothing it raises may reach the server (or ``close``)."""
        started = time.perf_counter()
        try:
            await self.preload()
        except Exception:
            log.exception("preloading failed")
        else:
            log.info("preload finished in %.0f ms (%d model versions loaded)",
                     (time.perf_counter() - started) * 1000, len(self.manager.loaded()))

    @property
    def preloading(self) -> bool:
        """Aliased versions are still loading: the background task (true from the moment it is
        started) or a preload that readiness waits for."""
        return self.preloader.running or self.state.preloading

    async def preloaded(self) -> None:
        """Wait until the background preload has ended (at once when none runs)."""
        await self.preloader.wait()

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
        await self.preloader.close()  # before the manager closes: a load in progress is abandoned
        await self.jobs.close()
        await self.guard.close()  # traffic control and webhooks (#20)
        await self.traffic.router.shadow.close()
        await self.dispatcher.close()
        await self.job_events.close()
        await self.manager.close(grace=self.settings.server.shutdown_grace_s)
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
    cache = make_cache(settings, metrics)
    core = build_core(settings, metrics, tracing.tracer, cache)
    engine, sessions, store, registry = core.engine, core.sessions, core.store, core.registry
    manager, models, tracking, inference, datasets = (core.manager, core.models, core.tracking,
                                                      core.inference, core.datasets)
    health = core.health
    jobs = JobService(settings, sessions, datasets, registry)
    search = SearchService(sessions, inference, embed_batch=settings.text.search_embed_batch,
                           max_top_k=settings.text.search_max_top_k, max_text=settings.text.max_string_length)
    # --- traffic control and webhooks (#20)
    webhooks = WebhookService(sessions, allow_private=settings.webhooks.allow_private)
    dispatcher = Dispatcher(
        sessions, allow_private=settings.webhooks.allow_private, poll_s=settings.webhooks.poll_s,
        timeout_s=settings.webhooks.timeout_s, retry_base_s=settings.webhooks.retry_base_s,
        retry_max_s=settings.webhooks.retry_max_s, max_attempts=settings.webhooks.max_attempts,
    )
    webhooks.on_emit = dispatcher.wake
    models.emit = webhooks.emit
    shadow = ShadowRunner(registry, manager, tracking.recorder, queue_size=settings.traffic.shadow_queue,
                          timeout=settings.inference.request_timeout_s, emit=webhooks.emit, metrics=metrics)
    inference.traffic = TrafficRouter(sessions, registry, shadow,
                                      cache_ttl=settings.models.registry_cache_ttl_s)
    traffic = TrafficService(sessions, registry, models, inference.traffic, emit=webhooks.emit)
    models.alias_setter = traffic.point
    models.before_delete = traffic.ensure_unrouted
    guard = GuardWatcher(sessions, traffic, tracking.recorder, interval=settings.traffic.guard_interval_s)
    return Services(
        settings=settings, engine=engine, sessions=sessions, store=store, metrics=metrics,
        registry=registry, manager=manager, models=models, inference=inference,
        tracking=tracking, cache=cache, tracing=tracing, search=search, datasets=datasets, jobs=jobs,
        auth=AuthService(settings, sessions, health), limiter=RateLimiter(
            settings.redis.url, max_connections=settings.redis.max_connections,
            idle_timeout_s=settings.redis.idle_timeout_s),
        traffic=traffic, guard=guard, webhooks=webhooks, dispatcher=dispatcher,
        job_events=JobEvents(sessions, webhooks, poll_s=settings.webhooks.poll_s),
    )
