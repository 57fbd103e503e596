"""The CLI manages the same registry the API serves."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from modelport.cli import app


def test_register_list_show_alias_rm(cli_artifact: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["models", "register", str(cli_artifact), "--name", "lr", "--flavor", "sklearn"])
    assert r.exit_code == 0, r.output
    assert "registered lr version 1" in r.output
    r = runner.invoke(app, ["models", "register", str(cli_artifact), "--name", "lr", "--alias", "staging"])
    assert r.exit_code == 0 and "version 2" in r.output
    r = runner.invoke(app, ["models", "list"])
    assert r.exit_code == 0 and "lr" in r.output and "staging→2" in r.output
    r = runner.invoke(app, ["models", "alias", "lr", "production", "1"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["models", "show", "lr"])
    assert r.exit_code == 0 and '"production": 1' in r.output
    r = runner.invoke(app, ["models", "rm", "lr", "1"])
    assert r.exit_code == 1 and "production" in r.output  # aliased: refused
    r = runner.invoke(app, ["models", "rm", "lr", "2"])
    assert r.exit_code == 1  # still aliased by staging
    r = runner.invoke(app, ["models", "alias", "lr", "staging", "1"])
    r = runner.invoke(app, ["models", "rm", "lr", "2"])
    assert r.exit_code == 0, r.output


def test_errors_are_one_line(cli_artifact: Path) -> None:
    r = CliRunner().invoke(app, ["models", "show", "missing"])
    assert r.exit_code == 1 and "no modelport home at" in r.output and len(r.output.splitlines()) == 1
    r = CliRunner().invoke(app, ["models", "register", str(cli_artifact), "--name", "lr"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["models", "show", "missing"])
    assert r.exit_code == 1 and "not found" in r.output
    r = CliRunner().invoke(app, ["models", "register", str(cli_artifact), "--name", "../x"])
    assert r.exit_code == 1 and "invalid model name" in r.output
