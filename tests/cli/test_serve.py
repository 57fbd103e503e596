"""``modelport serve``'s options: ``--workers`` also comes from ``MODELPORT_WORKERS`` (the image's
default, compose's setting), and the flag wins over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modelport import server
from modelport.cli import app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """The calls ``serve`` makes to :func:`modelport.server.run_server`, which starts nothing here."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server, "run_server", lambda settings, *, workers: calls.append(
        {"settings": settings, "workers": workers}))
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MODELPORT_WORKERS", raising=False)
    return calls


@pytest.mark.parametrize(("env", "args", "workers"), [
    ({}, [], 1), ({"MODELPORT_WORKERS": "3"}, [], 3), ({"MODELPORT_WORKERS": "3"}, ["--workers", "2"], 2),
])
def test_workers_from_the_flag_or_the_environment(served: list[dict[str, Any]], env: dict[str, str],
                                                  args: list[str], workers: int) -> None:
    result = CliRunner().invoke(app, ["serve", "--no-demo", *args], env=env)
    assert result.exit_code == 0, result.output
    assert [c["workers"] for c in served] == [workers]


def test_zero_workers_is_refused(served: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, ["serve"], env={"MODELPORT_WORKERS": "0"})
    assert result.exit_code == 2 and not served
