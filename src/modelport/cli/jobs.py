"""``modelport jobs ...``: train with a progress bar until done, list, show, cancel.

Locally, with the embedded engine, ``jobs train`` runs the job in this process's worker pool (a
running server may take it first; the lease makes sure only one runs it); with Celery it is
published and a worker runs it. Remotely the server runs it and the bar follows its progress.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelport.cli.output import console, fail, print_json
from modelport.cli.target import current, run_local, run_remote

app = typer.Typer(help="Training and batch-prediction jobs.", no_args_is_help=True)
Update = Callable[[int, str], None]


def parse_param(raw: str) -> tuple[str, Any]:
    key, sep, value = raw.partition("=")
    if not sep or not key:
        raise typer.BadParameter(f"expected NAME=VALUE, got {raw!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


@contextmanager
def progress_bar(job_id: str) -> Iterator[Update]:
    """A bar on stdout; the yielded function moves it to (percent, message)."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.fields[message]}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(f"job {job_id[:8]}", total=100, message="queued")
        yield lambda percent, message: bar.update(task, completed=percent, message=message)


async def follow_local(services: Any, job_id: str, poll_s: float = 0.3) -> dict[str, Any]:
    """Run the engine here and show the bar until the job is done."""
    await services.jobs.start()  # embedded: run it here; celery: publish the outbox
    with progress_bar(job_id) as update:
        while True:
            job = await services.jobs.get(job_id)
            update(job.progress, job.message)
            if job.done:
                return dict(job.model_dump(mode="json"))
            await asyncio.sleep(poll_s)


@app.command("train")
def train(
    dataset: Annotated[str, typer.Option(help="Dataset id or builtin:iris|wine|digits|...")],
    estimator: Annotated[str, typer.Option(help="e.g. RandomForestClassifier, Ridge")],
    name: Annotated[str, typer.Option(help="Register the model under this name")],
    alias: Annotated[str | None, typer.Option(help="Point this alias at the new version")] = None,
    target: Annotated[str, typer.Option(help="Label column")] = "target",
    param: Annotated[list[str] | None,
                     typer.Option("--param", "-p", help="Hyperparameter NAME=VALUE")] = None,
    test_size: Annotated[float, typer.Option(help="Held-out fraction")] = 0.2,
    random_state: Annotated[int | None, typer.Option(help="Seed of the split and the estimator")] = None,
    wait: Annotated[bool, typer.Option(help="Follow the job with a progress bar until done")] = True,
) -> None:
    """Train ESTIMATOR on DATASET and register the model; shows progress until it finishes."""
    hyperparameters = dict(parse_param(p) for p in param or [])
    if current().remote:
        def go(c: Any) -> dict[str, Any]:
            handle = c.train(dataset, estimator, name, alias=alias, target=target, test_size=test_size,
                             hyperparameters=hyperparameters, random_state=random_state)
            console.print(f"submitted job [bold]{handle.id}[/bold]")
            if not wait:
                return dict(handle.get().to_dict())
            with progress_bar(handle.id) as update:
                return dict(handle.wait(lambda j: update(j.progress, j.message), poll_s=0.3).to_dict())

        job = run_remote(go)
    else:
        from modelport.jobs.schemas import RegisterAs, TrainRequest

        extra = {} if random_state is None else {"random_state": random_state}
        req = TrainRequest(dataset=dataset, target=target, estimator=estimator,
                           hyperparameters=hyperparameters, test_size=test_size,
                           register_as=RegisterAs(name=name, alias=alias), **extra)

        async def go_local(services: Any) -> dict[str, Any]:
            submitted, _ = await services.jobs.submit_train(req, owner="cli")
            console.print(f"submitted job [bold]{submitted.id}[/bold]")
            if wait:
                return await follow_local(services, submitted.id)
            return dict(submitted.model_dump(mode="json"))

        job = run_local(go_local, create=True)
    report(job)


def report(job: dict[str, Any]) -> None:
    model = job.get("model") or {}
    if job["state"] == "succeeded":
        console.print(f"[green]succeeded[/green]: {model.get('name', '')} version {model.get('version', '')}"
                      f"  metrics {job['metrics']}")
    elif job["state"] in ("failed", "cancelled"):
        fail(f"{job['state']}: {job.get('error') or ''}")


@app.command("list")
def list_jobs(state: Annotated[str | None, typer.Option()] = None,
              limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """List jobs, newest first."""
    if current().remote:
        items = run_remote(lambda c: c.list_jobs(state=state, limit=limit).to_dict()["items"])
    else:
        result = run_local(lambda s: s.jobs.list(state=state, limit=limit))
        items = [j.model_dump(mode="json") for j in result.items]
    table = Table("id", "kind", "state", "progress", "created", "model / output", "error")
    for job in items:
        model = job.get("model")
        out = f"{model['name']} v{model['version']}" if model else (job.get("output_dataset") or "")
        created = str(job["created_at"])[:19]
        table.add_row(job["id"], job["kind"], job["state"], f"{job['progress']}%", created, out,
                      (job.get("error") or "")[:60])
    console.print(table)


@app.command("show")
def show(job_id: str) -> None:
    """Show one job as JSON."""
    if current().remote:
        print_json(run_remote(lambda c: c.get_job(job_id).to_dict()))
    else:
        print_json(run_local(lambda s: s.jobs.get(job_id)).model_dump(mode="json"))


@app.command("cancel")
def cancel(job_id: str) -> None:
    """Cancel a queued or running job."""
    if current().remote:
        job = run_remote(lambda c: c.cancel_job(job_id).to_dict())
    else:
        job = run_local(lambda s: s.jobs.cancel(job_id)).model_dump(mode="json")
    done = job["state"] in ("succeeded", "failed", "cancelled")
    suffix = " (cancelling)" if job["cancel_requested"] and not done else ""
    console.print(f"job {job['id']}: {job['state']}{suffix}")
