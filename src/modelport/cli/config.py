"""``modelport config``: the effective settings by group, with secrets masked, and where commands go.

Shows what a command run here would use: the target (remote URL or local home, and which rule
chose it), the home's existence, and every setting after environment, ``.env`` and ``--home``,
grouped as in :mod:`modelport.settings` (``server.port``, ``database.url``, ...), each with the
environment variable that sets it.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import SecretStr
from rich.table import Column, Table

import modelport.cli.profiles as profiles
from modelport.cli.output import console, fail, print_json
from modelport.cli.target import current, settings
from modelport.settings import FLAT_NAMES, GROUPS, Settings, env_name, walk

MASK = "********"
# by name: `security.secret_key`, and credentials in `artifacts.storage_options` (fsspec's key, secret,
# token, account_key, sas_token, connection_string, ...); not `token_ttl_s` or `chat_max_tokens`
SECRET_NAME = re.compile(r"(secret|password|credential|connection_string|(^|_)token$|(^|_)key$)",
                         re.IGNORECASE)


def mask_url(url: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:********@host``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{parts.username or ''}:{MASK}@{parts.hostname or ''}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def masked(name: str, value: Any) -> Any:
    """``value`` safe to print as JSON: secrets replaced, passwords in URLs hidden, dicts walked
    (``artifacts.storage_options`` holds credentials under names like ``secret``), paths as text."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: masked(k, v) for k, v in value.items()}
    if isinstance(value, str) and value and SECRET_NAME.search(name):  # a number or flag is no secret
        return MASK
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    if not isinstance(value, str | int | float | bool | list | type(None)):
        return str(value)
    return value


def grouped(resolved: Settings) -> dict[str, Any]:
    """Every setting, masked: top-level ones (``home``) by name, the others in their group's dict."""
    values: dict[str, Any] = {}
    for group, field, value in walk(resolved):
        shown = masked(field, value)
        if group is None:
            values[field] = shown
        else:
            values.setdefault(group, {})[field] = shown
    return values


def effective() -> dict[str, Any]:
    target = current()
    resolved = settings()
    where: dict[str, Any] = {"mode": "remote" if target.remote else "local", "chosen_by": target.source,
                             "profiles_file": str(profiles.profiles_path())}
    if target.remote:
        where.update(url=target.url, key=MASK if target.key else None)
    else:
        where.update(home=str(resolved.home.resolve()), home_exists=resolved.home.exists())
    return {"target": where, "settings": grouped(resolved)}


def lookup(data: dict[str, Any], name: str) -> Any:
    """A target key (``url``), a setting (``server.port``, or its flat name ``port``), a group
    (``server``) or ``home``; ``KeyError`` (the class) when there is none."""
    values: dict[str, Any] = data["settings"]
    if name in data["target"]:
        return data["target"][name]
    if name in FLAT_NAMES:
        group, field = FLAT_NAMES[name]
        return values[group][field]
    group, dot, field = name.partition(".")
    if dot:
        fields = values.get(group) if group in GROUPS else None
        return fields.get(field, KeyError) if fields is not None else KeyError
    return values.get(name, KeyError)


def config(as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
           get: Annotated[str | None, typer.Option(
               help="Print only this value: home, url, server.port (or by its flat name, port)")] = None,
           ) -> None:
    """Print the effective settings by group (secrets masked) and the server commands talk to."""
    data = effective()
    if get is not None:
        value = lookup(data, get)
        if value is KeyError:
            fail(f"no setting {get!r}; `modelport config` lists them")
        print("" if value is None else json.dumps(value) if isinstance(value, dict | list) else value)
        return
    if as_json:
        print_json(data)
        return
    for key, value in data["target"].items():
        console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
    table = Table(*(Column(name, overflow="fold") for name in ("setting", "value", "variable")))
    for key, value in data["settings"].items():
        if key not in GROUPS:
            table.add_row(key, _shown(value), env_name(None, key))
    for group in GROUPS:
        table.add_section()
        for field, value in data["settings"][group].items():
            table.add_row(f"{group}.{field}", _shown(value), env_name(group, field))
    console.print(table)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value) if isinstance(value, dict) else str(value)
