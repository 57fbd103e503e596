"""CLI tests: profiles in a temp config dir; a live server with the demo models per module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.app import create_app
from tests.conftest import LiveServer, build_test_settings, first_start_admin_headers, serve_in_thread


@pytest.fixture(autouse=True)
def isolated_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No saved profile, URL or home of the machine leaks into a test."""
    for var in ("MODELPORT_URL", "MODELPORT_KEY", "MODELPORT_HOME", "MODELPORT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MODELPORT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "config"


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-live") / "home"


@pytest.fixture(scope="module")
def admin_key(cli_home: Path) -> str:
    headers = asyncio.run(first_start_admin_headers(build_test_settings(cli_home)))
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def server(cli_home: Path, admin_key: str) -> Iterator[LiveServer]:
    settings = build_test_settings(cli_home, demo_models=True, demo_text_models=False, job_poll_s=0.2)
    with serve_in_thread(create_app(settings)) as live:
        yield live
