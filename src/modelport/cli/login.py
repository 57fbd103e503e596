"""``modelport login`` / ``logout``: save a server's URL and key as a profile (file mode 0600)."""

from __future__ import annotations

from typing import Annotated

import typer

import modelport.cli.profiles as profiles
from modelport.cli.output import console, fail


def login(
    url: Annotated[str, typer.Option(help="The server, e.g. https://models.example.com")],
    key: Annotated[str | None, typer.Option(help="An API key (prompted for when left out)",
                                            envvar="MODELPORT_KEY")] = None,
    profile: Annotated[str, typer.Option(help="Profile name")] = "default",
) -> None:
    """Check the key against the server, then save it; later commands use it without --url."""
    from modelport.client import ApiError, Client, Forbidden, ModelportClientError

    if key is None:
        key = typer.prompt("API key", hide_input=True)
    try:
        with Client(url, api_key=key) as client:
            client.list_models()
    except Forbidden:
        pass  # a valid key without models:read (e.g. predict-only) is still a valid key
    except ApiError as exc:
        fail(f"{url} refused the key: {exc.detail or exc.title} ({exc.status})")
    except ModelportClientError as exc:
        fail(str(exc))
    path = profiles.save(profiles.Profile(name=profile, url=url.rstrip("/"), key=key))
    console.print(f"logged in to {url} (profile {profile!r}, saved in {path})", highlight=False)


def logout(profile: Annotated[str, typer.Option(help="Profile name")] = "default") -> None:
    """Forget a saved profile."""
    if not profiles.remove(profile):
        fail(f"no profile {profile!r} in {profiles.profiles_path()}")
    console.print(f"removed profile {profile!r}")
