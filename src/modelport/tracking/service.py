"""The tracking facade the composition root builds: one object for routes and the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.observability.metrics import Metrics
from modelport.registry.registry import ModelRegistry
from modelport.settings import Settings
from modelport.storage.engine import SessionFactory
from modelport.tracking.drift import DriftService
from modelport.tracking.feedback import FeedbackService
from modelport.tracking.journal import Journal
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.query import PredictionQuery
from modelport.tracking.reference import ReferenceStore
from modelport.tracking.spill import SpillStore
from modelport.tracking.usage import UsageService


@dataclass
class Tracking:
    recorder: PredictionRecorder
    predictions: PredictionQuery
    feedback: FeedbackService
    references: ReferenceStore
    drift: DriftService
    usage: UsageService

    async def start(self) -> None:
        await self.recorder.start()

    async def close(self) -> None:
        """Flush the prediction log (the buffer reaches the database or the spill file)."""
        await self.feedback.close()
        await self.recorder.close()


def build_tracking(settings: Settings, engine: AsyncEngine, sessions: SessionFactory,
                   metrics: Metrics, registry: ModelRegistry, tracer: Tracer) -> Tracking:
    recorder = PredictionRecorder(
        engine, metrics, SpillStore(settings.home / "spill"), enabled=settings.tracking.enabled,
        flush_interval=settings.tracking.flush_interval_s, buffer_max=settings.tracking.buffer_max,
        write_timeout=settings.tracking.write_timeout_s, retry_max=settings.tracking.retry_max_s,
        tracer=tracer,
        journal=Journal(settings.home / "journal", settings.tracking.journal_fsync_s)
        if settings.tracking.journal else None,
    )
    references = ReferenceStore(sessions, registry)
    return Tracking(
        recorder=recorder,
        predictions=PredictionQuery(sessions),
        feedback=FeedbackService(sessions, recorder, metrics, registry.get_version),
        references=references,
        drift=DriftService(sessions, references),
        usage=UsageService(sessions),
    )
