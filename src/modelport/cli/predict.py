"""``modelport predict NAME ROWS``: one prediction call to a server, printed as its JSON answer."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from modelport.cli.output import fail, print_json
from modelport.cli.target import need_remote, run_remote


def predict(
    name: Annotated[str, typer.Argument(help="Model name")],
    rows: Annotated[str, typer.Argument(help="JSON: one row [5.1, 3.5, ...] or a list of rows")],
    version: Annotated[str | None, typer.Option(help="Version number or alias")] = None,
    confidence_threshold: Annotated[float | None,
                                    typer.Option(help="Flag rows below this confidence")] = None,
) -> None:
    """Predict ROWS with model NAME on the server (--url or a `modelport login` profile)."""
    need_remote("predict")
    try:
        parsed: Any = json.loads(rows)
    except json.JSONDecodeError as exc:
        fail(f"ROWS must be JSON, e.g. '[5.1, 3.5, 1.4, 0.2]' ({exc.msg})", code=2)
    answer = run_remote(lambda c: c.predict(name, parsed, version=version,
                                            confidence_threshold=confidence_threshold))
    print_json(answer.to_dict())
