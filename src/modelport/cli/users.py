"""``modelport users ...``: create users who log in with a password."""

from __future__ import annotations

from typing import Annotated, Any

import typer

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
