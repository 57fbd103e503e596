"""The ``modelport`` command line. Every command calls the same services the API calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from modelport.bootstrap import Services, build_services
from modelport.errors import ModelportError
from modelport.settings import Settings

app = typer.Typer(help="Serve, train and track machine-learning models.", no_args_is_help=True)
models_app = typer.Typer(help="Manage registered models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def run_with_services(fn: Callable[[Services], Awaitable[T]]) -> T:
    """Build services from the environment, migrate, run ``fn``, close; errors exit 1."""

    async def runner() -> T:
        services = build_services(Settings())
        try:
            await services.start(serve=False)
            return await fn(services)
        finally:
            await services.close()

    try:
        return asyncio.run(_as_coro(runner))
    except ModelportError as exc:
        err.print(f"[red]error:[/red] {exc.public_detail}")
        raise typer.Exit(1) from None


async def _as_coro(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return await fn()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (MODELPORT_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (MODELPORT_PORT)")] = None,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not register demo models")] = False,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes")] = 1,
) -> None:
    """Run the API server (embedded SQLite, local store and demo models by default)."""
    from modelport.server import run_server

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if no_demo:
        overrides["demo_models"] = False
    run_server(Settings(**overrides), workers=workers)


@models_app.command("register")
def models_register(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    name: Annotated[str, typer.Option(help="Model name")],
    flavor: Annotated[str, typer.Option(help="sklearn, onnx, ...")] = "sklearn",
    description: Annotated[str, typer.Option()] = "",
    alias: Annotated[list[str] | None, typer.Option(help="Aliases to point at the new version")] = None,
) -> None:
    """Register FILE as a new version of a model."""
    info = run_with_services(lambda s: s.models.register_file(
        name, flavor, file, filename=file.name, description=description, aliases=alias or []
    ))
    console.print(f"registered [bold]{info.name}[/bold] version {info.version} (sha256 {info.sha256[:12]})")


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List models with their versions and aliases."""
    models = run_with_services(lambda s: s.registry.list_models())
    if as_json:
        console.print_json(json.dumps([m.model_dump(mode="json", exclude={"versions"}) for m in models]))
        return
    table = Table("name", "versions", "aliases", "description")
    for m in models:
        table.add_row(m.name, ", ".join(str(v.version) for v in m.versions),
                      ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())), m.description)
    console.print(table)


@models_app.command("show")
def models_show(name: str) -> None:
    """Show a model's versions, aliases and signature."""
    model = run_with_services(lambda s: s.registry.get_model(name))
    console.print_json(model.model_dump_json(exclude={"versions": {"__all__": {"artifact_key"}}}))


@models_app.command("alias")
def models_alias(name: str, alias: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION."""
    run_with_services(lambda s: s.registry.set_alias(name, alias, version))
    console.print(f"{name}: {alias} → {version}")


@models_app.command("rm")
def models_rm(name: str, version: int) -> None:
    """Delete VERSION of model NAME (refused while an alias points at it)."""
    run_with_services(lambda s: s.models.delete_version(name, version))
    console.print(f"deleted {name} version {version}")


def _register_job_commands() -> None:
    from modelport.cli_jobs import jobs_app, worker

    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(worker)


_register_job_commands()


def main() -> None:
    app()
