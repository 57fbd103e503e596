"""``modelport jobs ...`` and ``modelport worker``: the same JobService the API uses.

With the embedded engine ``jobs train`` runs the job in this process's own worker pool (a
running server may take it first; the lease makes sure only one runs it). With Celery it is
published to the broker and a worker runs it. Either way a progress bar follows the job row.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelport.bootstrap import Services
from modelport.jobs.schemas import JobInfo, RegisterAs, TrainRequest
from modelport.settings import Settings

jobs_app = typer.Typer(help="Training and batch-prediction jobs.", no_args_is_help=True)
console = Console()


def _run(fn: Any) -> Any:
    from modelport.cli import run_with_services

    return run_with_services(fn)


def _parse_param(raw: str) -> tuple[str, Any]:
    key, sep, value = raw.partition("=")
    if not sep or not key:
        raise typer.BadParameter(f"expected NAME=VALUE, got {raw!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


async def follow(services: Services, job_id: str, poll_s: float = 0.3) -> JobInfo:
    """Show a progress bar until the job is done (the engine runs here while it does)."""
    await services.jobs.start()  # embedded: run it here; celery: publish the outbox
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.fields[message]}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(f"job {job_id[:8]}", total=100, message="queued")
        while True:
            job = await services.jobs.get(job_id)
            bar.update(task, completed=job.progress, message=job.message)
            if job.done:
                return job
            await asyncio.sleep(poll_s)


def _print_job(job: JobInfo) -> None:
    console.print_json(job.model_dump_json())


@jobs_app.command("train")
def jobs_train(
    dataset: Annotated[str, typer.Option(help="Dataset id or builtin:iris|wine|digits|...")],
    estimator: Annotated[str, typer.Option(help="e.g. RandomForestClassifier, Ridge")],
    name: Annotated[str, typer.Option(help="Register the model under this name")],
    alias: Annotated[str | None, typer.Option(help="Point this alias at the new version")] = None,
    target: Annotated[str, typer.Option(help="Label column")] = "target",
    param: Annotated[list[str] | None,
                     typer.Option("--param", "-p", help="Hyperparameter NAME=VALUE")] = None,
    test_size: Annotated[float, typer.Option(help="Held-out fraction")] = 0.2,
    wait: Annotated[bool, typer.Option(help="Follow the job with a progress bar until done")] = True,
) -> None:
    """Train ESTIMATOR on DATASET and register the model; shows progress until it finishes."""
    req = TrainRequest(dataset=dataset, target=target, estimator=estimator,
                       hyperparameters=dict(_parse_param(p) for p in param or []), test_size=test_size,
                       register_as=RegisterAs(name=name, alias=alias))

    async def go(services: Services) -> JobInfo:
        job, _ = await services.jobs.submit_train(req, owner="cli")
        console.print(f"submitted job [bold]{job.id}[/bold]")
        return await follow(services, job.id) if wait else job

    job = _run(go)
    if job.state == "succeeded":
        console.print(f"[green]succeeded[/green]: {job.model.name if job.model else ''} "
                      f"version {job.model.version if job.model else ''}  metrics {job.metrics}")
    elif job.done:
        console.print(f"[red]{job.state}[/red]: {job.error or ''}")
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list(state: Annotated[str | None, typer.Option()] = None,
              limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """List jobs, newest first."""
    result = _run(lambda s: s.jobs.list(state=state, limit=limit))
    table = Table("id", "kind", "state", "progress", "created", "model / output", "error")
    for job in result.items:
        out = f"{job.model.name} v{job.model.version}" if job.model else (job.output_dataset or "")
        created = job.created_at.isoformat(timespec="seconds")
        table.add_row(job.id, job.kind, job.state, f"{job.progress}%", created,
                      out, (job.error or "")[:60])
    console.print(table)


@jobs_app.command("show")
def jobs_show(job_id: str) -> None:
    """Show one job as JSON."""
    _print_job(_run(lambda s: s.jobs.get(job_id)))


@jobs_app.command("cancel")
def jobs_cancel(job_id: str) -> None:
    """Cancel a queued or running job."""
    job = _run(lambda s: s.jobs.cancel(job_id))
    suffix = " (cancelling)" if job.cancel_requested and not job.done else ""
    console.print(f"job {job.id}: {job.state}{suffix}")


def worker(
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, solo, threads")] = "prefork",
    concurrency: Annotated[int | None,
                           typer.Option(help="Pool processes (default: MODELPORT_JOB_WORKERS)")] = None,
    loglevel: Annotated[str, typer.Option()] = "INFO",
    hostname: Annotated[str | None, typer.Option(help="Celery node name")] = None,
    reaper: Annotated[bool, typer.Option(help="Run the lease reaper and outbox publisher")] = True,
) -> None:
    """Run a Celery worker on the `training` and `inference` queues (MODELPORT_BROKER_URL)."""
    from modelport.jobs import maintenance, worker_process
    from modelport.jobs.celery_app import make_celery, queues

    settings = Settings()
    app = make_celery(settings)
    helper = None
    if reaper:
        helper = mp.get_context("spawn").Process(target=maintenance.main, args=(settings,),
                                                 name="modelport-job-reaper", daemon=True)
        helper.start()
    worker_process.preload()  # pool children fork from here with the ML stack imported
    argv = ["worker", f"--pool={pool}", f"--concurrency={concurrency or settings.job_workers}",
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
