"""``modelport users ...``: create, list, disable, enable, delete users; set their passwords."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from modelport.cli.output import console
from modelport.cli.target import current, run_local, run_remote

app = typer.Typer(help="Manage users.", no_args_is_help=True)


@app.command("create")
def create(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="Prompted for when not given")],
    role: Annotated[str, typer.Option(help="user or admin")] = "user",
    scope: Annotated[list[str] | None, typer.Option(help="Scopes of a user (default: predict, "
                                                          "models:read); repeat the option")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Limit to models matching this pattern "
                                                         "(e.g. 'fraud-*'); repeat the option")] = None,
) -> None:
    """Create a user who can log in at /api/v1/auth/token."""
    if current().remote:
        user: dict[str, Any] = run_remote(lambda c: c.create_user(username, password, role=role,
                                                                  scopes=scope, models=model)).to_dict()
    else:
        info = run_local(lambda s: s.auth.users.create(username, password, role=role, scopes=scope,
                                                       models=model), create=True)
        user = info.model_dump(mode="json")
    scopes = ", ".join(user["scopes"])
    console.print(f"created user [bold]{user['username']}[/bold] ({user['role']}: {scopes})")


# --- user lifecycle (#17): list, disable, enable, delete, passwd
@app.command("list")
def list_users() -> None:
    """List users: name, role, scopes, disabled."""
    if current().remote:
        users = run_remote(lambda c: [u.to_dict() for u in c.list_users()])
    else:
        users = [u.model_dump(mode="json") for u in run_local(lambda s: s.auth.users.list_all())]
    table = Table("username", "role", "scopes", "disabled", "created")
    for user in users:
        created = datetime.fromisoformat(user["created_at"]).astimezone(UTC)
        table.add_row(user["username"], user["role"], ", ".join(user["scopes"]),
                      "yes" if user["disabled"] else "no", created.isoformat(timespec="seconds"))
    console.print(table)


def _set_disabled(username: str, disabled: bool) -> None:
    if current().remote:
        run_remote(lambda c: c.update_user(username, disabled=disabled))
    else:
        run_local(lambda s: s.auth.update_user(username, disabled=disabled))


@app.command("disable")
def disable(username: str) -> None:
    """Disable a user: their tokens and API keys stop working."""
    _set_disabled(username, True)
    console.print(f"disabled user [bold]{username}[/bold]")


@app.command("enable")
def enable(username: str) -> None:
    """Enable a disabled user (tokens issued before the disable stay invalid)."""
    _set_disabled(username, False)
    console.print(f"enabled user [bold]{username}[/bold]")


@app.command("delete")
def delete(
    username: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a user and their API keys."""
    if not yes:
        typer.confirm(f"delete user {username} and their API keys?", abort=True)
    if current().remote:
        run_remote(lambda c: c.delete_user(username))
    else:
        run_local(lambda s: s.auth.delete_user(username))
    console.print(f"deleted user [bold]{username}[/bold]")


@app.command("passwd")
def passwd(
    username: str,
    password: Annotated[str, typer.Option(prompt="New password", hide_input=True, confirmation_prompt=True,
                                          help="Prompted for when not given")],
    current_password: Annotated[str | None, typer.Option(help="Remote mode: USERNAME's current password "
                                                              "(prompted for when not given)")] = None,
) -> None:
    """Set a user's password; ends their older tokens.

    Locally no current password is needed. Against a server the API changes only one's own
    password, so the command signs in as USERNAME with the current password first.
    """
    if current().remote:
        old = current_password or typer.prompt("Current password", hide_input=True)

        def change(c: Any) -> None:
            c.login(username, old)
            c.change_password(old, password)

        run_remote(change)
    else:
        async def change_local(s: Any) -> None:
            user = await s.auth.users.by_username(username)
            await s.auth.change_password(user.id, None, password)

        run_local(change_local)
    console.print(f"password changed for [bold]{username}[/bold]")
