"""Per-process job resources: built once in a worker process, used by every job it runs.

Embedded worker processes and Celery pool children both call :func:`build` at start (Celery
from ``worker_process_init``): their own event loop, database engine and services, none
inherited from the parent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from modelport.settings import Settings


@dataclass
class WorkerResources:
    loop: asyncio.AbstractEventLoop
    services: object  # modelport.bootstrap.Services (kept untyped to avoid an import cycle)

    def run_job(self, job_id: str) -> str:
        from modelport.jobs.runner import JobRunner

        runner = JobRunner(self.services)  # type: ignore[arg-type]
        try:
            return self.loop.run_until_complete(runner.run(job_id))
        finally:  # the job's predictions reach the log now, not when the process exits
            recorder = self.services.tracking.recorder  # type: ignore[attr-defined]
            self.loop.run_until_complete(recorder.flush(final=True))

    def run(self, coro: object) -> object:
        return self.loop.run_until_complete(coro)  # type: ignore[arg-type]

    def close(self) -> None:
        from modelport.bootstrap import Services

        services = self.services
        assert isinstance(services, Services)
        self.loop.run_until_complete(services.close())
        self.loop.close()


def preload() -> None:
    """Import the heavy modules a job needs (skops scans all of sklearn; seconds) up front."""
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import skops.io  # noqa: F401

    import modelport.jobs.batch  # noqa: F401
    import modelport.jobs.training  # noqa: F401


def build(settings: Settings) -> WorkerResources:
    from modelport.bootstrap import build_services

    preload()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    services = build_services(settings)
    return WorkerResources(loop=loop, services=services)
