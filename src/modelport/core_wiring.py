"""The serving core both composition roots build: database, artifacts, registry, models, log.

Why one function: the API process (:mod:`modelport.bootstrap`) and a job worker process
(:mod:`modelport.worker`) must load, limit and log models alike (store and cache, outage-bounded
lookups, archive limits, the code switch, the prediction log); wiring them twice let them drift.
No I/O happens here; the callers start and close what they build.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.cache import PredictionCache
from modelport.core.inference import InferenceService
from modelport.core.models import ModelService
from modelport.jobs.datasets import DatasetService
from modelport.observability.metrics import Metrics
from modelport.registry.registry import ModelRegistry
from modelport.registry.store import ArtifactStore, make_store
from modelport.runtime.archive import archive_options
from modelport.runtime.manager import ModelManager
from modelport.settings import Settings
from modelport.storage.engine import SessionFactory, make_engine, make_session_factory
from modelport.storage.health import DatabaseHealth, engine_options
from modelport.tracking.service import Tracking, build_tracking


@dataclass
class Core:
    engine: AsyncEngine
    sessions: SessionFactory
    health: DatabaseHealth
    store: ArtifactStore
    registry: ModelRegistry
    manager: ModelManager
    models: ModelService
    tracking: Tracking
    inference: InferenceService
    datasets: DatasetService


def build_core(settings: Settings, metrics: Metrics, tracer: Tracer,
               cache: PredictionCache | None = None) -> Core:
    engine = make_engine(settings.resolved_database_url, **engine_options(settings))
    health = DatabaseHealth(settings.database.lookup_timeout_s, settings.database.outage_grace_s)
    sessions = make_session_factory(engine)
    store = make_store(settings.artifacts.url, settings.artifacts_dir,
                       storage_options=settings.artifacts.storage_options,
                       cache_dir=settings.home / "artifact-cache", cache_bytes=settings.artifacts.cache_bytes)
    registry = ModelRegistry(sessions, store, cache_ttl=settings.models.registry_cache_ttl_s, health=health)
    manager = ModelManager(
        store, metrics, threads=settings.inference.threads, max_queue=settings.inference.max_queue,
        max_loaded=settings.models.max_loaded, allow_pickle=settings.models.allow_pickle,
        max_batch_size=settings.inference.max_batch_size, max_latency_ms=settings.inference.max_latency_ms,
        workers=settings.inference.workers, extra_options=archive_options(settings),  # archives under home
    )
    models = ModelService(registry, manager, tmp_dir=settings.home / "tmp",
                          allow_pickle=settings.models.allow_pickle,
                          max_upload_bytes=settings.server.max_upload_bytes)
    # models whose artifact is code load only when the operator allows it (#18)
    manager.allow_code = models.allow_code = settings.models.allow_code
    tracking = build_tracking(settings, engine, sessions, metrics, registry, tracer)
    inference = InferenceService(
        registry, manager, metrics, max_rows=settings.inference.max_batch_rows, cache=cache,
        recorder=tracking.recorder, tracer=tracer, capture=settings.tracking.capture,
        capture_max_bytes=settings.tracking.capture_max_bytes,
        request_timeout=settings.inference.request_timeout_s,
    )
    datasets = DatasetService(sessions, store, tmp_dir=settings.home / "tmp",
                              max_upload_bytes=settings.server.max_upload_bytes)
    return Core(engine=engine, sessions=sessions, health=health, store=store, registry=registry,
                manager=manager, models=models, tracking=tracking, inference=inference, datasets=datasets)
