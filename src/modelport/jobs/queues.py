"""The broker queue each kind of job goes to (shared by the job service and the Celery app,
which must not import each other)."""

from __future__ import annotations

from modelport.settings import Settings

QUEUES = {"train": "training", "batch_predict": "inference"}


def queue_name(settings: Settings, kind: str) -> str:
    return QUEUES[kind] + settings.jobs.queue_suffix
