"""``modelport --url ... models traffic | history | rollback | alias`` against a live server.

The local mode of the same commands is tested in ``tests/unit/test_cli_traffic.py``; here the
output must match what the REST API answers for the alias.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from modelport.cli import app
from tests.conftest import LiveServer

pytestmark = pytest.mark.timeout(180)


def remote(server: LiveServer, key: str, *args: str) -> list[str]:
    return ["--url", server.url, "--key", key, *args]


def rest(server: LiveServer, key: str, path: str) -> object:
    answer = httpx.get(f"{server.url}/api/v1/models/{path}", headers={"Authorization": f"Bearer {key}"})
    answer.raise_for_status()
    return answer.json()


@pytest.fixture(scope="module")
def three_versions(server: LiveServer, admin_key: str) -> str:
    artifact = server.services.settings.home / "artifacts" / "iris" / "1" / "model.skops"
    for _ in range(3):
        r = CliRunner().invoke(app, remote(server, admin_key, "models", "register", str(artifact),
                                           "--name", "tr-iris"))
        assert r.exit_code == 0, r.output
    return "tr-iris"


def test_traffic_history_rollback_remote(server: LiveServer, admin_key: str, three_versions: str) -> None:
    runner = CliRunner()
    name = three_versions
    r = runner.invoke(app, remote(server, admin_key, "models", "alias", name, "production", "1"))
    assert r.exit_code == 0 and "production → 1" in r.stdout, r.output
    r = runner.invoke(app, remote(server, admin_key, "models", "traffic", name, "production",
                                  "--route", "1=90", "--route", "2=10", "--shadow", "3:0.25",
                                  "--sticky", "principal", "--max-error-rate", "0.05"))
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown == rest(server, admin_key, f"{name}/aliases/production")["traffic"]  # type: ignore[index]
    assert shown["routes"] == [{"version": 1, "weight": 90.0}, {"version": 2, "weight": 10.0}]
    assert shown["shadow"] == {"version": 3, "fraction": 0.25} and shown["guard"]["max_error_rate"] == 0.05

    r = runner.invoke(app, remote(server, admin_key, "models", "history", name, "production"))
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    events = rest(server, admin_key, f"{name}/aliases/production/history")
    assert isinstance(events, list) and len(lines) == len(events) == 2
    when, action, actor, split, reason = lines[0].split("\t")
    assert split == "v1=90, v2=10 (shadow v3:0.25)" and action == events[0]["action"]
    assert actor == events[0]["actor"] != "-" and reason == "" and when.endswith("+00:00")
    assert lines[1].split("\t")[3] == "v1=100"  # the `models alias` before it is in the history too

    r = runner.invoke(app, remote(server, admin_key, "models", "rollback", name, "production",
                                  "--reason", "too early"))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["routes"] == [{"version": 1, "weight": 100.0}]
    r = runner.invoke(app, remote(server, admin_key, "models", "history", name, "production", "--limit", "1"))
    (line,) = r.stdout.strip().splitlines()
    assert line.split("\t")[1] == "rollback" and line.endswith("\ttoo early")


def test_traffic_errors_remote(server: LiveServer, admin_key: str, three_versions: str) -> None:
    runner = CliRunner()
    name = three_versions
    r = runner.invoke(app, remote(server, admin_key, "models", "traffic", name, "canary", "--route", "1:90"))
    assert r.exit_code == 2 and "VERSION=WEIGHT" in r.output
    r = runner.invoke(app, remote(server, admin_key, "models", "traffic", name, "canary",
                                  "--route", "1=90", "--shadow", "1:0.5"))
    assert r.exit_code == 2 and "shadow" in r.output  # checked before anything is sent
    r = runner.invoke(app, remote(server, admin_key, "models", "traffic", name, "canary",
                                  "--route", "1=90", "--route", "9=10"))
    assert r.exit_code == 1 and "no version" in r.output and "(404)" in r.output
    r = runner.invoke(app, remote(server, admin_key, "models", "rollback", name, "never-set"))
    assert r.exit_code == 1 and "no history" in r.output


def test_readme_commands_remote(server: LiveServer, admin_key: str) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    found = re.search(r"The same from the command line, (.*?)(?:\n\n|\n?\Z)", readme, re.DOTALL)
    assert found, "README lost its traffic command-line sentence"
    commands = [shlex.split(c) for c in re.findall(r"`(modelport models [^`]+)`", found.group(1))]
    assert [c[2] for c in commands] == ["traffic", "history", "rollback"]
    artifact = server.services.settings.home / "artifacts" / "iris" / "1" / "model.skops"
    runner = CliRunner()
    for _ in range(2):  # iris 2 and 3, which the README's split names
        r = runner.invoke(app, remote(server, admin_key, "models", "register", str(artifact),
                                      "--name", "iris"))
        assert r.exit_code == 0, r.output
    outputs = []
    for command in commands:
        r = runner.invoke(app, remote(server, admin_key, *command[1:]))
        assert r.exit_code == 0, r.output
        outputs.append(r.stdout)
    assert json.loads(outputs[0])["shadow"] == {"version": 3, "fraction": 0.25}
    assert outputs[1].splitlines()[0].split("\t")[3] == "v1=90, v2=10 (shadow v3:0.25)"
    assert json.loads(outputs[2])["routes"] == [{"version": 1, "weight": 100.0}]
