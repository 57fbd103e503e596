"""``modelport users list|disable|enable|delete|passwd`` in local mode, checked against the
services' own view of the users afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelport.bootstrap import build_services
from modelport.cli import app
from modelport.security.users import UserInfo
from modelport.settings import Settings


def user(name: str) -> UserInfo | None:
    async def find() -> UserInfo | None:
        services = build_services(Settings())
        try:
            await services.start(serve=False)
            users = {u.username: u for u in await services.auth.users.list_all()}
            return users.get(name)
        finally:
            await services.close()

    return asyncio.run(find())


def test_user_lifecycle_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELPORT_LOG_FORMAT", "console")
    monkeypatch.setenv("MODELPORT_DEMO_MODELS", "false")
    runner = CliRunner()
    r = runner.invoke(app, ["users", "create", "bob", "--password", "first password"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "list"])
    assert r.exit_code == 0 and "bob" in r.output
    before = user("bob")
    assert before is not None and not before.disabled

    assert runner.invoke(app, ["users", "disable", "bob"]).exit_code == 0
    disabled = user("bob")
    assert disabled is not None and disabled.disabled and disabled.token_version > before.token_version
    assert runner.invoke(app, ["users", "enable", "bob"]).exit_code == 0
    enabled = user("bob")
    assert enabled is not None and not enabled.disabled

    r = runner.invoke(app, ["users", "passwd", "bob", "--password", "second password"])
    assert r.exit_code == 0, r.output
    changed = user("bob")
    assert changed is not None and changed.token_version > enabled.token_version

    r = runner.invoke(app, ["users", "delete", "bob"], input="n\n")
    assert r.exit_code != 0 and user("bob") is not None
    assert runner.invoke(app, ["users", "delete", "bob", "--yes"]).exit_code == 0
    assert user("bob") is None
    r = runner.invoke(app, ["users", "disable", "bob"])
    assert r.exit_code == 1 and "not found" in r.output
