"""``modelport serve``: run the API server in the data home (created at first start)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from modelport.cli.target import settings


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (MODELPORT_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (MODELPORT_PORT)")] = None,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not register demo models")] = False,
    workers: Annotated[int, typer.Option(min=1, envvar="MODELPORT_WORKERS",
                                         help="Server (Granian) worker processes")] = 1,
) -> None:
    """Run the API server (embedded SQLite, local store and demo models by default)."""
    from modelport.server import run_server

    overrides: dict[str, Any] = {}
    server = {name: value for name, value in (("host", host), ("port", port)) if value is not None}
    if server:
        overrides["server"] = server
    if no_demo:
        overrides["models"] = {"demo": False}
    run_server(settings(**overrides), workers=workers)
