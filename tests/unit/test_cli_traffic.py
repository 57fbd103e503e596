"""``modelport models traffic | history | rollback``: the same traffic service the API uses."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from modelport.cli import app


def test_traffic_history_rollback(cli_artifact: Path) -> None:
    runner = CliRunner()
    for _ in range(3):
        r = runner.invoke(app, ["models", "register", str(cli_artifact), "--name", "lr"])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["models", "alias", "lr", "production", "1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["models", "traffic", "lr", "production", "--route", "1=90", "--route", "2=10",
                            "--shadow", "3:0.25", "--sticky", "principal", "--max-error-rate", "0.05"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["routes"] == [{"version": 1, "weight": 90.0}, {"version": 2, "weight": 10.0}]
    assert shown["shadow"] == {"version": 3, "fraction": 0.25} and shown["guard"]["max_error_rate"] == 0.05
    r = runner.invoke(app, ["models", "history", "lr", "production"])
    assert r.exit_code == 0 and "v1=90, v2=10 (shadow v3:0.25)" in r.output and "cli" in r.output
    assert r.output.splitlines()[1].split("\t")[1:4] == ["set", "cli", "v1=100"]  # `models alias` recorded
    r = runner.invoke(app, ["models", "rollback", "lr", "production", "--reason", "too early"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["routes"] == [{"version": 1, "weight": 100.0}]
    r = runner.invoke(app, ["models", "history", "lr", "production"])
    assert "rollback" in r.output and "too early" in r.output


def test_bad_traffic_options(cli_artifact: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["models", "register", str(cli_artifact), "--name", "lr"]).exit_code == 0
    r = runner.invoke(app, ["models", "traffic", "lr", "production", "--route", "1:90"])
    assert r.exit_code == 2 and "VERSION=WEIGHT" in r.output
    r = runner.invoke(app, ["models", "traffic", "lr", "production", "--route", "1=90", "--shadow", "1:2"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["models", "traffic", "lr", "production", "--route", "1=90", "--route", "9=1"])
    assert r.exit_code == 1 and "no version" in r.output
    r = runner.invoke(app, ["models", "rollback", "lr", "production"])
    assert r.exit_code == 1 and "no history" in r.output
