"""``modelport models ...``: register, list, show, alias, remove model versions.

The MLflow import and the traffic commands live in their own modules and are added at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from modelport.cli.mlflow import import_mlflow
from modelport.cli.output import console, fail, print_json
from modelport.cli.target import current, run_local, run_remote
from modelport.cli.traffic import history, rollback, traffic

app = typer.Typer(help="Manage registered models.", no_args_is_help=True)


def _config(**knobs: Any) -> dict[str, Any]:
    """The serving config from the flags, checked here so a bad flag exits 2 naming it."""
    from pydantic import ValidationError

    from modelport.registry.manifest import ServingConfig

    try:
        ServingConfig(**knobs)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}", code=2)
    return {k: v for k, v in knobs.items() if v is not None}


@app.command("register")
def register(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=True, readable=True,
                                         help="Artifact file, or a model directory (local only)")],
    name: Annotated[str | None, typer.Option(help="Model name (default: the file or directory name)")] = None,
    flavor: Annotated[str, typer.Option(help="sklearn, onnx, ...")] = "sklearn",
    description: Annotated[str, typer.Option()] = "",
    alias: Annotated[list[str] | None, typer.Option(help="Aliases to point at the new version")] = None,
    max_batch_size: Annotated[int | None, typer.Option(help="Rows merged into one model call")] = None,
    max_latency_ms: Annotated[float | None, typer.Option(help="Longest wait for a fuller batch")] = None,
    max_queue: Annotated[int | None, typer.Option(help="Queued requests before 503")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (0 = threads)")] = None,
) -> None:
    """Register FILE (or a model directory) as a new version of a model.

    Serving knobs left out default to the server's settings.
    """
    config = _config(max_batch_size=max_batch_size, max_latency_ms=max_latency_ms, max_queue=max_queue,
                     workers=workers)
    model_name = name or file.resolve().name.split(".")[0]
    aliases = alias or []
    if current().remote:
        if file.is_dir():
            fail("a model directory registers only locally; upload a single artifact file to a server")

        def upload(c: Any) -> dict[str, Any]:
            info = c.upload_model(file, model_name, flavor, description=description, config=config or None,
                                  alias=aliases[0] if aliases else None)
            for extra in aliases[1:]:
                c.set_alias(model_name, extra, info.version)
            return dict(info.to_dict())

        out = run_remote(upload)
    else:
        from modelport.registry.manifest import ServingConfig

        info = run_local(lambda s: s.models.register_file(
            model_name, flavor, file, filename=file.name, description=description, aliases=aliases,
            config=ServingConfig(**config),
        ), create=True)
        out = info.model_dump(mode="json")
    console.print(f"registered [bold]{out['name']}[/bold] version {out['version']} "
                  f"(sha256 {out['sha256'][:12]})")


@app.command("list")
def list_models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List models with their versions and aliases."""
    if current().remote:
        rows = run_remote(lambda c: [m.to_dict() for m in c.list_models()])
    else:
        models = run_local(lambda s: s.registry.list_models())
        rows = [{**m.model_dump(mode="json", exclude={"versions"}),
                 "versions": [v.version for v in m.versions]} for m in models]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "versions", "aliases", "description")
    for m in rows:
        table.add_row(m["name"], ", ".join(str(v) for v in m["versions"]),
                      ", ".join(f"{a}→{v}" for a, v in sorted(m["aliases"].items())), m["description"])
    console.print(table)


@app.command("show")
def show(name: str) -> None:
    """Show a model's versions, aliases and signature."""
    if current().remote:
        print_json(run_remote(lambda c: c.get_model(name).to_dict()))
        return
    model = run_local(lambda s: s.registry.get_model(name))
    console.print_json(model.model_dump_json(exclude={"versions": {"__all__": {"artifact_key"}}}))


@app.command("alias")
def alias(name: str, alias: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION."""
    if current().remote:
        run_remote(lambda c: c.set_alias(name, alias, version))
    else:
        run_local(lambda s: s.traffic.point(name, alias, version, actor="cli"))  # recorded in the history
    console.print(f"{name}: {alias} → {version}")


@app.command("rm")
def rm(name: str, version: int) -> None:
    """Delete VERSION of model NAME (refused while an alias points at it)."""
    if current().remote:
        run_remote(lambda c: c.delete_version(name, version))
    else:
        run_local(lambda s: s.models.delete_version(name, version))
    console.print(f"deleted {name} version {version}")


app.command("import-mlflow")(import_mlflow)
app.command("traffic")(traffic)
app.command("history")(history)
app.command("rollback")(rollback)
