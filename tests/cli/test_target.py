"""Where commands go: --url, MODELPORT_URL, --home, MODELPORT_HOME, a login profile, the default home."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelport.cli import app
from modelport.paths import default_home
from tests.conftest import LiveServer

pytestmark = pytest.mark.timeout(120)


def config(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    r = CliRunner().invoke(app, [*args, "config", "--json"], env=env)
    assert r.exit_code == 0, r.output
    return dict(json.loads(r.stdout))


def test_default_home_is_per_user_and_reported(tmp_path: Path) -> None:
    assert default_home() == tmp_path / "data" / "modelport"
    shown = config()
    assert shown["target"] == {"mode": "local", "chosen_by": "default home",
                               "profiles_file": str(tmp_path / "config" / "profiles.json"),
                               "home": str(tmp_path / "data" / "modelport"), "home_exists": False}


def test_home_option_then_env(tmp_path: Path) -> None:
    assert config("--home", str(tmp_path / "a"))["target"]["home"] == str(tmp_path / "a")  # type: ignore[index]
    shown = config(env={"MODELPORT_HOME": str(tmp_path / "b")})["target"]
    assert shown["home"] == str(tmp_path / "b") and shown["chosen_by"] == "MODELPORT_HOME"  # type: ignore[index]
    shown = config("--home", str(tmp_path / "a"), env={"MODELPORT_HOME": str(tmp_path / "b")})["target"]
    assert shown["home"] == str(tmp_path / "a")  # type: ignore[index]


def test_a_missing_home_is_an_error_not_an_empty_table(tmp_path: Path) -> None:
    for args in (["keys", "list"], ["models", "list"], ["jobs", "list"]):
        r = CliRunner().invoke(app, ["--home", str(tmp_path / "nowhere"), *args])
        assert r.exit_code == 1 and "no modelport home at" in r.output, (args, r.output)
    assert not (tmp_path / "nowhere").exists()


def test_login_saves_a_0600_profile_used_without_url(server: LiveServer, admin_key: str,
                                                     isolated_cli: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["login", "--url", server.url, "--key", "mp_0000000000000000_nope"])
    assert r.exit_code == 1 and "refused the key" in r.output
    assert not (isolated_cli / "profiles.json").exists()
    r = runner.invoke(app, ["login", "--url", server.url, "--key", admin_key])
    assert r.exit_code == 0, r.output
    path = isolated_cli / "profiles.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = config()["target"]
    assert shown == {"mode": "remote", "chosen_by": "profile 'default'", "profiles_file": str(path),
                     "url": server.url, "key": "********"}
    r = runner.invoke(app, ["models", "list", "--json"])
    assert r.exit_code == 0 and "iris" in [m["name"] for m in json.loads(r.stdout)]
    # an explicit home wins over the profile
    assert config("--home", str(isolated_cli))["target"]["mode"] == "local"  # type: ignore[index]
    r = runner.invoke(app, ["logout"])
    assert r.exit_code == 0 and config()["target"]["mode"] == "local"  # type: ignore[index]


def test_predict_without_a_server_says_how(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["predict", "iris", "[1, 2, 3, 4]"])
    assert r.exit_code == 1 and "--url" in r.output and "modelport login" in r.output
