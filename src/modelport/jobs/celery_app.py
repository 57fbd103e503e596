"""The Celery app, built by :func:`make_celery` from settings (nothing reads settings at import).

Delivery guarantees come from the configuration: ``task_acks_late`` (ack after the task, not
before) and ``task_reject_on_worker_lost`` (a killed pool child puts its message back) with a
prefetch of one, so a crash never loses a job. The task is a thin call into the same runner
the embedded engine uses, with resources built per pool process in ``worker_process_init``.
Retries with backoff cover transient errors only; bad data fails the job without a retry.

``celery -A modelport.jobs.celery_app worker`` also works: the module-level ``celery`` app is
configured lazily (from ``MODELPORT_*``) on first use, never at import.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init, worker_process_shutdown
from kombu import Queue

from modelport.jobs.queues import QUEUES
from modelport.settings import Settings
from modelport.worker import WorkerResources

log = logging.getLogger(__name__)
TASK_NAME = "modelport.jobs.run"
MAX_RETRIES = 5
_resources: dict[int, WorkerResources] = {}
_configured: list[Celery] = []  # the app this process configured last (a worker has one)


def broker_url(settings: Settings) -> str:
    url = settings.jobs.broker_url or settings.redis.url
    if not url:
        raise RuntimeError("MODELPORT_JOBS_ENGINE=celery needs MODELPORT_BROKER_URL (redis:// or amqp://)")
    return url


def queues(settings: Settings) -> list[str]:
    return [q + settings.jobs.queue_suffix for q in QUEUES.values()]


def configure(app: Celery, settings: Settings) -> Celery:
    names = queues(settings)
    app.conf.update(
        broker_url=broker_url(settings),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_queues=[Queue(n, routing_key=n) for n in names],
        task_default_queue=names[0],
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.jobs.broker_timeout_s,
        broker_transport_options={"visibility_timeout": 3600,
                                  "socket_connect_timeout": settings.jobs.broker_timeout_s},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_enable_remote_control=False,
    )
    app.modelport_settings = settings  # type: ignore[attr-defined]
    app.task(name=TASK_NAME, bind=True, acks_late=True, max_retries=MAX_RETRIES)(run_job)
    _configured[:] = [app]
    return app


def make_celery(settings: Settings) -> Celery:
    return configure(Celery("modelport", set_as_current=False), settings)


class _LazyCelery(Celery):
    """For ``celery -A``: reads settings when Celery first needs its configuration."""

    def on_configure(self) -> None:  # type: ignore[override]
        if not getattr(self, "modelport_settings", None):
            configure(self, Settings())


celery = _LazyCelery("modelport", set_as_current=False)


def _settings_of(app: Any) -> Settings:
    settings = getattr(app, "modelport_settings", None)
    if settings is None:
        app.loader.import_default_modules()
        settings = getattr(app, "modelport_settings", None) or Settings()
    assert isinstance(settings, Settings)
    return settings


def resources(app: Any) -> WorkerResources:
    """This process's resources (built by ``worker_process_init``, or lazily by solo pools)."""
    import os

    found = _resources.get(os.getpid())
    if found is None:
        from modelport import worker

        found = _resources[os.getpid()] = worker.build(_settings_of(app))
    return found


def run_job(self: Task, job_id: str) -> str:  # type: ignore[type-arg]
    from modelport.jobs.runner import TransientJobError

    res = resources(self.app)
    try:
        return res.run_job(job_id)
    except TransientJobError as exc:
        if self.request.retries >= MAX_RETRIES:
            res.run(res.services.job_repo.fail(job_id, f"gave up after transient errors: {exc}"))
            return "failed"
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc


@worker_process_init.connect(weak=False)
def _init_process(**_: Any) -> None:
    """A fresh pool child: its own loop, DB engine and services (none shared with the parent)."""
    _resources.clear()  # anything inherited through fork belongs to the parent
    if not _configured:
        return
    try:
        resources(_configured[0])
    except Exception:
        log.exception("could not build job resources in worker process")


@worker_process_shutdown.connect(weak=False)
def _shutdown_process(**_: Any) -> None:
    import os

    res = _resources.pop(os.getpid(), None)
    if res is not None:
        try:
            res.close()
        except Exception:
            log.warning("closing job resources failed", exc_info=True)
