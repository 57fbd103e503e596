"""``modelport config``: the effective settings, with secrets masked, and where commands go.

Shows what a command run here would use: the target (remote URL or local home, and which rule
chose it), the home's existence, and every setting after environment, ``.env`` and ``--home``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import SecretStr
from rich.table import Table

import modelport.cli.profiles as profiles
from modelport.cli.output import console, fail, print_json
from modelport.cli.target import current, settings

MASK = "********"
SECRET_NAME = re.compile(r"(secret|password|token(?!_ttl|_rate)|(^|_)key$)", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:********@host``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{parts.username or ''}:{MASK}@{parts.hostname or ''}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def masked(name: str, value: Any) -> Any:
    """``value`` safe to print: secrets replaced, passwords in URLs hidden, nested models walked."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: masked(k, v) for k, v in value.items()}
    if value is not None and SECRET_NAME.search(name):
        return MASK
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def effective() -> dict[str, Any]:
    target = current()
    resolved = settings()
    values = {name: masked(name, getattr(resolved, name)) for name in type(resolved).model_fields}
    values = {k: (str(v) if not isinstance(v, str | int | float | bool | dict | list | type(None)) else v)
              for k, v in values.items()}
    where: dict[str, Any] = {"mode": "remote" if target.remote else "local", "chosen_by": target.source,
                             "profiles_file": str(profiles.profiles_path())}
    if target.remote:
        where.update(url=target.url, key=MASK if target.key else None)
    else:
        where.update(home=str(resolved.home.resolve()), home_exists=resolved.home.exists())
    return {"target": where, "settings": values}


def config(as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
           get: Annotated[str | None, typer.Option(help="Print only this value, e.g. home or url")] = None,
           ) -> None:
    """Print the effective settings (secrets masked) and the server commands talk to."""
    data = effective()
    if get is not None:
        value = data["target"].get(get, data["settings"].get(get, KeyError))
        if value is KeyError:
            fail(f"no setting {get!r}; `modelport config` lists them")
        print("" if value is None else value)
        return
    if as_json:
        print_json(data)
        return
    for key, value in data["target"].items():
        console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
    table = Table("setting (MODELPORT_*)", "value")
    for key, value in data["settings"].items():
        table.add_row(key, repr(value) if isinstance(value, str) else str(value))
    console.print(table)
