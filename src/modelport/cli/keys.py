"""``modelport keys ...``: create (shown once), list, revoke API keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from modelport.cli.output import console, err, print_json
from modelport.cli.target import current, run_local, run_remote

app = typer.Typer(help="Manage API keys (shown once at creation, stored as digests).", no_args_is_help=True)


@app.command("create")
def create(
    scope: Annotated[list[str], typer.Option(help="Scope to grant; repeat the option")],
    name: Annotated[str, typer.Option(help="A label for the key")] = "",
    owner: Annotated[str | None, typer.Option(help="Username owning the key (local default: admin; "
                                                   "remote: the caller)")] = None,
    expires: Annotated[str | None, typer.Option(help="Lifetime, e.g. 30d, 12h (default: never)")] = None,
    rate_limit: Annotated[str | None, typer.Option(help="This key's limit, e.g. 600/minute")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Limit to models matching this pattern "
                                                         "(e.g. 'fraud-*'); repeat the option")] = None,
) -> None:
    """Create an API key and print it once (on stdout; the rest goes to stderr)."""
    if current().remote:
        created = run_remote(lambda c: c.create_key(scope, name=name, expires_in=expires,
                                                    rate_limit=rate_limit, owner=owner,
                                                    models=model)).to_dict()
        info, plaintext = created, created["key"]
    else:
        from modelport.security.keys import parse_duration
        from modelport.storage.base import utcnow

        async def make(s: Any) -> tuple[Any, str]:
            expires_at = utcnow() + parse_duration(expires) if expires else None
            user = await s.auth.users.by_username(owner or "admin")
            made: tuple[Any, str] = await s.auth.keys.create(user.id, name=name, scopes=scope,
                                                             expires_at=expires_at, rate_limit=rate_limit,
                                                             models=model)
            return made

        key_info, plaintext = run_local(make)
        info = key_info.model_dump(mode="json")
    scopes = ", ".join(info["scopes"])
    err.print(f"created key {info['id']} for {info['owner']} ({scopes}); it is shown once:")
    print(plaintext)


@app.command("list")
def list_keys(
    owner: Annotated[str | None, typer.Option(help="Only this user's keys")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List API keys (never their secrets)."""
    if current().remote:
        keys = [k.to_dict() for k in run_remote(lambda c: c.list_keys())]
        keys = [k for k in keys if owner is None or k["owner"] == owner]
    else:
        async def fetch(s: Any) -> list[Any]:
            owner_id = (await s.auth.users.by_username(owner)).id if owner else None
            return list(await s.auth.keys.list(owner_id))

        keys = [k.model_dump(mode="json") for k in run_local(fetch)]
    if as_json:
        print_json(keys)
        return
    table = Table("id", "name", "owner", "scopes", "expires", "revoked", "last used")
    table.columns[0].no_wrap = True
    for k in keys:
        table.add_row(k["id"], k["name"], k["owner"], " ".join(k["scopes"]), str(k["expires_at"] or "never"),
                      "yes" if k["revoked"] else "", str(k["last_used_at"] or ""))
    console.print(table)


@app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke an API key (other replicas stop accepting it within MODELPORT_KEY_CACHE_TTL_S)."""
    if current().remote:
        run_remote(lambda c: c.revoke_key(key_id))
    else:
        run_local(lambda s: s.auth.keys.revoke(key_id))
    console.print(f"revoked {key_id}")
