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
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys (shown once at creation, stored as digests).",
                       no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
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
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=True, readable=True,
                                         help="Artifact file, or a model directory (HF flavors)")],
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
    from pydantic import ValidationError

    from modelport.registry.manifest import ServingConfig

    try:
        config = ServingConfig(max_batch_size=max_batch_size, max_latency_ms=max_latency_ms,
                               max_queue=max_queue, workers=workers)
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"[red]error:[/red] --{str(first['loc'][0]).replace('_', '-')}: {first['msg']}")
        raise typer.Exit(2) from None
    model_name = name or file.resolve().name.split(".")[0]
    info = run_with_services(lambda s: s.models.register_file(
        model_name, flavor, file, filename=file.name, description=description, aliases=alias or [],
        config=config,
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


@users_app.command("create")
def users_create(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="Prompted for when not given")],
    role: Annotated[str, typer.Option(help="user or admin")] = "user",
    scope: Annotated[list[str] | None, typer.Option(help="Scopes of a user (default: predict, "
                                                          "models:read); repeat the option")] = None,
) -> None:
    """Create a user who can log in at /api/v1/auth/token."""
    user = run_with_services(lambda s: s.auth.users.create(
        username, password, role=role, scopes=scope  # type: ignore[arg-type]
    ))
    console.print(f"created user [bold]{user.username}[/bold] ({user.role}: {', '.join(user.scopes)})")


# --- trust (#17): user lifecycle, local mode (one block: the cli/ package split moves it whole)
@users_app.command("list")
def users_list() -> None:
    """List users: name, role, scopes, disabled."""
    from rich.table import Table

    users = run_with_services(lambda s: s.auth.users.list_all())
    table = Table("username", "role", "scopes", "disabled", "created")
    for user in users:
        table.add_row(user.username, user.role, ", ".join(user.scopes), "yes" if user.disabled else "no",
                      user.created_at.isoformat(timespec="seconds"))
    console.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: their tokens and API keys stop working."""
    run_with_services(lambda s: s.auth.update_user(username, disabled=True))
    console.print(f"disabled user [bold]{username}[/bold]")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user (tokens issued before the disable stay invalid)."""
    run_with_services(lambda s: s.auth.update_user(username, disabled=False))
    console.print(f"enabled user [bold]{username}[/bold]")


@users_app.command("delete")
def users_delete(
    username: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a user and their API keys."""
    if not yes:
        typer.confirm(f"delete user {username} and their API keys?", abort=True)
    run_with_services(lambda s: s.auth.delete_user(username))
    console.print(f"deleted user [bold]{username}[/bold]")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password: Annotated[str, typer.Option(prompt="New password", hide_input=True, confirmation_prompt=True,
                                          help="Prompted for when not given")],
) -> None:
    """Set a user's password (local mode: no current password needed); ends their older tokens."""

    async def change(s: Services) -> None:
        user = await s.auth.users.by_username(username)
        await s.auth.change_password(user.id, None, password)

    run_with_services(change)
    console.print(f"password changed for [bold]{username}[/bold]")
# --- end trust (#17)


@keys_app.command("create")
def keys_create(
    scope: Annotated[list[str], typer.Option(help="Scope to grant; repeat the option")],
    name: Annotated[str, typer.Option(help="A label for the key")] = "",
    owner: Annotated[str, typer.Option(help="Username owning the key")] = "admin",
    expires: Annotated[str | None, typer.Option(help="Lifetime, e.g. 30d, 12h (default: never)")] = None,
    rate_limit: Annotated[str | None, typer.Option(help="This key's limit, e.g. 600/minute")] = None,
) -> None:
    """Create an API key and print it once."""
    from modelport.security.keys import parse_duration
    from modelport.storage.base import utcnow

    async def create(s: Services) -> tuple[Any, str]:
        expires_at = utcnow() + parse_duration(expires) if expires else None
        user = await s.auth.users.by_username(owner)
        return await s.auth.keys.create(user.id, name=name, scopes=scope, expires_at=expires_at,
                                        rate_limit=rate_limit)

    info, plaintext = run_with_services(create)
    err.print(f"created key {info.id} for {info.owner} ({', '.join(info.scopes)}); it is shown once:")
    print(plaintext)


@keys_app.command("list")
def keys_list(
    owner: Annotated[str | None, typer.Option(help="Only this user's keys")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List API keys (never their secrets)."""

    async def list_keys(s: Services) -> list[Any]:
        owner_id = (await s.auth.users.by_username(owner)).id if owner else None
        return await s.auth.keys.list(owner_id)

    keys = run_with_services(list_keys)
    if as_json:
        console.print_json(json.dumps([k.model_dump(mode="json") for k in keys]))
        return
    table = Table("id", "name", "owner", "scopes", "expires", "revoked", "last used")
    table.columns[0].no_wrap = True
    for k in keys:
        table.add_row(k.id, k.name, k.owner, " ".join(k.scopes), str(k.expires_at or "never"),
                      "yes" if k.revoked else "", str(k.last_used_at or ""))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key (other replicas stop accepting it within MODELPORT_KEY_CACHE_TTL_S)."""
    run_with_services(lambda s: s.auth.keys.revoke(key_id))
    console.print(f"revoked {key_id}")


def _register_job_commands() -> None:
    from modelport.cli_jobs import jobs_app, worker

    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(worker)


_register_job_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
