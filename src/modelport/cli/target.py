"""Which server a command talks to: a remote one through the client, or the local data home.

Resolution, first match wins: ``--url`` / ``MODELPORT_URL`` (remote); ``--home`` /
``MODELPORT_HOME`` (local); the saved ``modelport login`` profile (remote); the per-user
default home (local). The root command sets it once per invocation (:func:`configure`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import modelport.cli.profiles as profiles
from modelport.cli.output import fail
from modelport.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    url: str | None = None
    key: str | None = None
    home: Path | None = None
    source: str = "default home"

    @property
    def remote(self) -> bool:
        return self.url is not None


_current = Target()


def configure(*, url: str | None, key: str | None, home: Path | None, profile: str) -> Target:
    global _current
    if url:
        saved = profiles.load(profile)
        same = saved is not None and saved.url.rstrip("/") == url.rstrip("/")
        _current = Target(url=url, key=key or (saved.key if saved and same else None), source="--url")
    elif home is not None or os.environ.get("MODELPORT_HOME"):
        _current = Target(home=home, source="--home" if home is not None else "MODELPORT_HOME")
    elif (saved := profiles.load(profile)) is not None:
        _current = Target(url=saved.url, key=key or saved.key, source=f"profile {profile!r}")
    else:
        _current = Target()
    return _current


def current() -> Target:
    return _current


def settings(**overrides: Any) -> Settings:
    """Settings for local mode (environment, ``.env``, then ``--home``)."""
    if _current.home is not None:
        overrides.setdefault("home", _current.home)
    return Settings(**overrides)


def local_settings(*, create: bool = False) -> Settings:
    """Settings of an existing home; a missing one is an error unless ``create`` (then it is made)."""
    resolved = settings()
    if not create and resolved.database.url is None and not resolved.home.exists():
        fail(f"no modelport home at {resolved.home} ({_current.source}): start the server there with "
             "`modelport serve`, pass --home or MODELPORT_HOME, or reach a server with --url")
    return resolved


def run_local(fn: Callable[[Any], Awaitable[T]], *, create: bool = False) -> T:
    """Build the services of the local home, migrate, run ``fn(services)``, close; errors exit 1."""
    from modelport.bootstrap import build_services
    from modelport.errors import ModelportError

    resolved = local_settings(create=create)

    async def runner() -> T:
        services = build_services(resolved)
        try:
            await services.start(serve=False)
            return await fn(services)
        finally:
            await services.close()

    try:
        return asyncio.run(runner())
    except ModelportError as exc:
        fail(exc.public_detail)


def run_remote(fn: Callable[[Any], T]) -> T:
    """Call ``fn(client)`` on the remote server; API errors print their detail and exit 1."""
    from modelport.client import ApiError, Client, ModelportClientError

    assert _current.url is not None
    try:
        with Client(_current.url, api_key=_current.key) as client:
            return fn(client)
    except ApiError as exc:
        fail(f"{exc.detail or exc.title} ({exc.status})")
    except ModelportClientError as exc:
        fail(str(exc))


def need_remote(command: str) -> None:
    if not _current.remote:
        fail(f"`modelport {command}` talks to a server: pass --url (or MODELPORT_URL), "
             "or save one with `modelport login --url ... --key ...`")
