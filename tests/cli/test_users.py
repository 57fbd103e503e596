"""``modelport --url ... users list|disable|enable|delete|passwd`` against a live server.

The local mode is tested in ``tests/unit/test_cli_users.py``; here each change is checked by
what the server then does with the user's password.
"""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from modelport.cli import app
from tests.conftest import LiveServer

pytestmark = pytest.mark.timeout(180)


def remote(server: LiveServer, key: str, *args: str) -> list[str]:
    return ["--url", server.url, "--key", key, *args]


def can_log_in(server: LiveServer, username: str, password: str) -> bool:
    answer = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def row_of(output: str, username: str) -> list[str]:
    (line,) = [line for line in output.splitlines() if f" {username} " in line]
    return line.replace("│", " ").split()


def test_user_lifecycle_remote(server: LiveServer, admin_key: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, remote(server, admin_key, "users", "create", "carol",
                                  "--password", "first password"))
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, remote(server, admin_key, "users", "list"))
    assert r.exit_code == 0, r.output
    assert row_of(r.stdout, "carol")[:2] == ["carol", "user"] and "no" in row_of(r.stdout, "carol")

    r = runner.invoke(app, remote(server, admin_key, "users", "disable", "carol"))
    assert r.exit_code == 0 and "disabled user carol" in r.stdout, r.output
    assert not can_log_in(server, "carol", "first password")
    assert "yes" in row_of(runner.invoke(app, remote(server, admin_key, "users", "list")).stdout, "carol")
    r = runner.invoke(app, remote(server, admin_key, "users", "enable", "carol"))
    assert r.exit_code == 0 and can_log_in(server, "carol", "first password")

    new = ("--password", "second password")
    r = runner.invoke(app, remote(server, admin_key, "users", "passwd", "carol", *new,
                                  "--current-password", "wrong password"))
    assert r.exit_code == 1 and "(401)" in r.output
    r = runner.invoke(app, remote(server, admin_key, "users", "passwd", "carol", *new),
                      input="first password\n")  # the current password is prompted for
    assert r.exit_code == 0 and "password changed for carol" in r.stdout, r.output
    assert can_log_in(server, "carol", "second password")
    assert not can_log_in(server, "carol", "first password")

    r = runner.invoke(app, remote(server, admin_key, "users", "delete", "carol"), input="n\n")
    assert r.exit_code != 0 and can_log_in(server, "carol", "second password")
    r = runner.invoke(app, remote(server, admin_key, "users", "delete", "carol", "--yes"))
    assert r.exit_code == 0 and "deleted user carol" in r.stdout, r.output
    assert not can_log_in(server, "carol", "second password")
    r = runner.invoke(app, remote(server, admin_key, "users", "disable", "carol"))
    assert r.exit_code == 1 and "not found" in r.output and "(404)" in r.output
