"""``modelport config``: every setting by group, the variable that sets it, secrets masked, ``--get``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import modelport.cli.config as config_module
from modelport.cli import app
from modelport.settings import GROUPS, Settings

pytestmark = pytest.mark.timeout(60)

SECRETS = {
    "MODELPORT_SECRET_KEY": "s" * 40,
    "MODELPORT_REDIS_URL": "redis://:hunter2@cache:6379/0",
    "MODELPORT_DATABASE_URL": "postgresql+asyncpg://app:pa55word@db/modelport",
    "MODELPORT_JOBS__BROKER_URL": "amqp://jobs:rabbit-pass@mq:5672//",
    "MODELPORT_ARTIFACT_STORAGE_OPTIONS": json.dumps(
        {"key": "AKIA-ACCESS", "secret": "aws-secret", "token": "session-token",
         "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-1"}}),
}


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """One line a table row, so that a row (or a secret) is never folded across lines."""
    monkeypatch.setattr(config_module, "console", Console(width=200))


def run(*args: str, env: dict[str, str] | None = None) -> str:
    r = CliRunner().invoke(app, ["config", *args], env=env)
    assert r.exit_code == 0, r.output
    return r.stdout


def settings_json(env: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(json.loads(run("--json", env=env))["settings"])


def test_secrets_are_masked_in_the_table_and_the_json() -> None:
    table = run(env=SECRETS)
    shown = settings_json(SECRETS)
    for secret in ("s" * 40, "hunter2", "pa55word", "rabbit-pass", "AKIA-ACCESS", "aws-secret",
                   "session-token"):
        assert secret not in table and secret not in json.dumps(shown), secret
    assert shown["security"]["secret_key"] == "********"
    assert shown["database"]["url"] == "postgresql+asyncpg://app:********@db/modelport"
    assert shown["redis"]["url"] == "redis://:********@cache:6379/0"
    assert shown["jobs"]["broker_url"] == "amqp://jobs:********@mq:5672//"
    assert shown["artifacts"]["storage_options"] == {
        "key": "********", "secret": "********", "token": "********",
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-1"}}
    # names that only look like secrets are shown
    assert shown["security"]["token_ttl_s"] == 3600 and shown["security"]["token_rate_limit"] == "10/minute"
    assert shown["text"]["chat_max_tokens"] == 4096 and shown["server"]["cors_allow_credentials"] is False


def test_every_setting_is_shown_in_its_group_with_the_variable_that_sets_it() -> None:
    shown = settings_json({"MODELPORT_PORT": "9001", "MODELPORT_JOBS__POLL_S": "0.25"})
    assert list(shown) == ["home", *GROUPS]
    defaults = Settings(_env_file=None)
    for group in GROUPS:
        assert list(shown[group]) == list(type(getattr(defaults, group)).model_fields), group
    assert shown["server"]["port"] == 9001 and shown["jobs"]["poll_s"] == 0.25
    assert shown["grpc"]["port"] == 8081 and shown["tls"]["cert_file"] is None

    table = run(env={"MODELPORT_PORT": "9001"})
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in table.splitlines() if line.startswith("│")}
    assert rows["server.port"] == ["9001", "MODELPORT_PORT"]
    assert rows["tracking.enabled"] == ["True", "MODELPORT_PREDICTION_LOG"]
    assert rows["inference.request_timeout_s"] == ["30.0", "MODELPORT_REQUEST_TIMEOUT"]
    assert rows["home"][1] == "MODELPORT_HOME"
    assert len(rows) == 1 + sum(len(shown[group]) for group in GROUPS)


def test_get_prints_one_value(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "h"), "config", "--get", "home"])
    assert r.exit_code == 0 and r.stdout == f"{tmp_path / 'h'}\n"
    assert run("--get", "port") == "8000\n"  # the flat name, as the variable has it
    assert run("--get", "server.port", env={"MODELPORT_SERVER__PORT": "8123"}) == "8123\n"
    assert run("--get", "database.url") == "\n"  # unset
    assert json.loads(run("--get", "traffic")) == {"shadow_queue": 256, "guard_interval_s": 5.0}
    assert run("--get", "secret_key", env=SECRETS) == "********\n"
    for name in ("nope", "server.nope", "nope.port"):
        r = CliRunner().invoke(app, ["config", "--get", name])
        assert r.exit_code == 1 and f"no setting {name!r}" in r.output, name
