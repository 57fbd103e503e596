"""The root ``modelport`` command: global options, then one sub-app or command per module.

Every module below depends only on :mod:`modelport.cli.target` and :mod:`modelport.cli.output`
(never on this one), so there is no import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli.config import config
from modelport.cli.jobs import app as jobs_app
from modelport.cli.keys import app as keys_app
from modelport.cli.login import login, logout
from modelport.cli.models import app as models_app
from modelport.cli.predict import predict
from modelport.cli.serve import serve
from modelport.cli.target import configure
from modelport.cli.users import app as users_app
from modelport.cli.worker import worker

app = typer.Typer(help="Serve, train and track machine-learning models.", no_args_is_help=True)


@app.callback()
def root(
    url: Annotated[str | None, typer.Option(envvar="MODELPORT_URL",
                                            help="Talk to this server (remote mode)")] = None,
    key: Annotated[str | None, typer.Option(envvar="MODELPORT_KEY", help="API key for --url")] = None,
    home: Annotated[Path | None, typer.Option(help="Local data home (MODELPORT_HOME; default per user, "
                                                   "see `modelport config`)")] = None,
    profile: Annotated[str, typer.Option(envvar="MODELPORT_PROFILE",
                                         help="Saved `modelport login` profile")] = "default",
) -> None:
    """Serve, train and track machine-learning models.

    Commands manage the local data home, or a server given by --url, MODELPORT_URL or a
    profile saved with `modelport login`.
    """
    configure(url=url, key=key, home=home, profile=profile)


app.command("serve")(serve)
app.command("worker")(worker)
app.command("predict")(predict)
app.command("config")(config)
app.command("login")(login)
app.command("logout")(logout)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(jobs_app, name="jobs")


def main() -> None:
    app()
