"""``modelport models import-mlflow DIR``: register an MLflow model directory (#18).

Locally the directory is imported by :func:`modelport.runtime.mlflow.import_mlflow`; against a
server it is zipped the same way a local directory is packed and uploaded with flavor ``mlflow``,
so both modes store the same artifact.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.cli.output import console, fail
from modelport.cli.target import current, run_local, run_remote


def _upload(directory: Path, name: str | None, description: str, aliases: list[str]) -> dict[str, Any]:
    from modelport.errors import ModelportError
    from modelport.runtime.archive import pack_directory, unpack
    from modelport.runtime.mlflow import default_name

    root = unpack(directory)
    model_name = name or default_name(root)
    with tempfile.TemporaryDirectory(prefix="modelport-mlflow-") as tmp:
        try:
            packed = pack_directory(root, Path(tmp) / f"{model_name}.zip")
        except ModelportError as exc:
            fail(exc.public_detail)

        def upload(c: Any) -> dict[str, Any]:
            info = c.upload_model(packed, model_name, "mlflow", description=description,
                                  alias=aliases[0] if aliases else None)
            for extra in aliases[1:]:
                c.set_alias(model_name, extra, info.version)
            return dict(info.to_dict())

        return run_remote(upload)


def import_mlflow(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="MLflow model directory")],
    name: Annotated[str | None, typer.Option(help="Model name (default: the directory name)")] = None,
    description: Annotated[str, typer.Option()] = "",
    alias: Annotated[list[str] | None, typer.Option(help="Aliases to point at the new version")] = None,
) -> None:
    """Register an MLflow model directory (MLmodel + files) as a new version, served natively."""
    aliases = alias or []
    if current().remote:
        out = _upload(directory, name, description, aliases)
    else:
        from modelport.runtime.mlflow import import_mlflow as run_import

        info = run_local(lambda s: run_import(s.models, directory, name=name, description=description,
                                              aliases=aliases), create=True)
        out = info.model_dump(mode="json")
    console.print(f"imported [bold]{out['name']}[/bold] version {out['version']} from MLflow "
                  f"(sha256 {out['sha256'][:12]})")
