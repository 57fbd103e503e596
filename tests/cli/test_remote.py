"""``modelport --url ... --key ...``: the CLI manages a live server through the client."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from modelport.cli import app
from tests.conftest import LiveServer

pytestmark = pytest.mark.timeout(180)
ROW = [5.1, 3.5, 1.4, 0.2]


def remote(server: LiveServer, key: str, *args: str) -> list[str]:
    return ["--url", server.url, "--key", key, *args]


def test_models_list_and_show_match_rest(server: LiveServer, admin_key: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, remote(server, admin_key, "models", "list", "--json"))
    assert r.exit_code == 0, r.output
    listed = json.loads(r.stdout)
    rest = httpx.get(f"{server.url}/api/v1/models", headers={"Authorization": f"Bearer {admin_key}"}).json()
    assert listed == rest
    r = runner.invoke(app, remote(server, admin_key, "models", "list"))
    assert r.exit_code == 0 and "iris" in r.stdout and "production→1" in r.stdout
    r = runner.invoke(app, remote(server, admin_key, "models", "show", "iris"))
    assert json.loads(r.stdout)["name"] == "iris"


def test_predict_matches_rest(server: LiveServer, admin_key: str) -> None:
    r = CliRunner().invoke(app, remote(server, admin_key, "predict", "iris", json.dumps(ROW)))
    assert r.exit_code == 0, r.output
    answer = json.loads(r.stdout)
    rest = httpx.post(f"{server.url}/api/v1/models/iris/predict", json={"features": ROW},
                      headers={"Authorization": f"Bearer {admin_key}"}).json()
    assert answer["predictions"] == rest["predictions"] and answer["version"] == rest["version"]
    r = CliRunner().invoke(app, remote(server, admin_key, "predict", "iris", "[1, 2"))
    assert r.exit_code == 2 and "ROWS must be JSON" in r.output


def test_jobs_train_shows_progress(server: LiveServer, admin_key: str) -> None:
    r = CliRunner().invoke(app, remote(server, admin_key, "jobs", "train", "--dataset", "builtin:wine",
                                       "--estimator", "LogisticRegression", "--name", "cli-wine",
                                       "-p", "max_iter=2000", "--alias", "production"))
    assert r.exit_code == 0, r.output
    assert "submitted job" in r.stdout and "%" in r.stdout
    assert "succeeded" in r.stdout and "cli-wine version 1" in r.stdout
    job_id = r.stdout.split("submitted job ")[1].split()[0]
    r = CliRunner().invoke(app, remote(server, admin_key, "jobs", "show", job_id))
    assert json.loads(r.stdout)["params"]["hyperparameters"] == {"max_iter": 2000}
    r = CliRunner().invoke(app, remote(server, admin_key, "jobs", "list"))
    assert r.exit_code == 0 and job_id[:8] in r.stdout


def test_keys_create_list_revoke(server: LiveServer, admin_key: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, remote(server, admin_key, "keys", "create", "--scope", "predict", "--name", "cli"))
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("mp_")
    ok = httpx.post(f"{server.url}/api/v1/models/iris/predict", json={"features": ROW},
                    headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    key_id = key.split("_")[1]
    r = runner.invoke(app, remote(server, admin_key, "keys", "list", "--json"))
    assert key_id in [k["id"] for k in json.loads(r.stdout)]
    r = runner.invoke(app, remote(server, admin_key, "keys", "revoke", key_id))
    assert r.exit_code == 0, r.output


def test_models_register_alias_rm(server: LiveServer, admin_key: str) -> None:
    artifact = server.services.settings.home / "artifacts" / "iris" / "1" / "model.skops"
    runner = CliRunner()
    r = runner.invoke(app, remote(server, admin_key, "models", "register", str(artifact),
                                  "--name", "cli-iris", "--alias", "staging", "--max-batch-size", "8"))
    assert r.exit_code == 0 and "registered cli-iris version 1" in r.stdout, r.output
    r = runner.invoke(app, remote(server, admin_key, "models", "alias", "cli-iris", "production", "1"))
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, remote(server, admin_key, "models", "rm", "cli-iris", "1"))
    assert r.exit_code == 1 and "alias" in r.output  # refused while aliased, with the server's detail


def test_bad_key_and_unreachable_server(server: LiveServer) -> None:
    r = CliRunner().invoke(app, remote(server, "mp_0000000000000000_nope", "models", "list"))
    assert r.exit_code == 1 and "(401)" in r.output
    r = CliRunner().invoke(app, ["--url", "http://127.0.0.1:9", "models", "list"])
    assert r.exit_code == 1 and "127.0.0.1:9" in r.output


def test_users_and_keys_created_with_model_patterns(server: LiveServer, admin_key: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, remote(server, admin_key, "users", "create", "cli-fraud", "--password",
                                  "long-enough-pw", "--model", "fraud-*"))
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, remote(server, admin_key, "keys", "create", "--scope", "predict", "--owner",
                                  "cli-fraud", "--model", "fraud-eu", "--model", "fraud-us"))
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    listed = json.loads(runner.invoke(app, remote(server, admin_key, "keys", "list", "--json")).stdout)
    (made,) = [k for k in listed if k["id"] == key.split("_")[1]]
    assert made["models"] == ["fraud-eu", "fraud-us"] and made["owner"] == "cli-fraud"
    denied = httpx.post(f"{server.url}/api/v1/models/iris/predict", json={"features": ROW},
                        headers={"Authorization": f"Bearer {key}"})
    assert denied.status_code == 404  # iris is outside the key's models: it does not exist for it
    r = runner.invoke(app, remote(server, admin_key, "keys", "create", "--scope", "predict",
                                  "--model", "../etc"))
    assert r.exit_code == 1 and "invalid model pattern" in r.output
