"""``modelport worker``: a Celery worker for training and batch jobs (local mode only)."""

from __future__ import annotations

import multiprocessing as mp
from typing import Annotated

import typer

from modelport.cli.target import settings as local_settings


def worker(
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, solo, threads")] = "prefork",
    concurrency: Annotated[int | None,
                           typer.Option(help="Pool processes (default: MODELPORT_JOB_WORKERS)")] = None,
    loglevel: Annotated[str, typer.Option()] = "INFO",
    hostname: Annotated[str | None, typer.Option(help="Celery node name")] = None,
    reaper: Annotated[bool, typer.Option(help="Run the lease reaper and outbox publisher")] = True,
) -> None:
    """Run a Celery worker on the `training` and `inference` queues (MODELPORT_BROKER_URL)."""
    from modelport.paths import keep_caches_in

    settings = local_settings()
    keep_caches_in(settings.home)  # before the ML stack is imported, here and in the pool children

    from modelport import processes
    from modelport.jobs import maintenance
    from modelport.jobs.celery_app import make_celery, queues

    app = make_celery(settings)
    helper = None
    if reaper:
        helper = mp.get_context("spawn").Process(target=maintenance.main, args=(settings,),
                                                 name="modelport-job-reaper", daemon=True)
        helper.start()
    processes.preload()  # pool children fork from here with the ML stack imported
    argv = ["worker", f"--pool={pool}", f"--concurrency={concurrency or settings.jobs.workers}",
            f"--queues={','.join(queues(settings))}", f"--loglevel={loglevel}", "--without-gossip",
            "--without-mingle", "--without-heartbeat"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    try:
        app.worker_main(argv)
    finally:
        if helper is not None and helper.is_alive():
            helper.terminate()
            helper.join(5)
