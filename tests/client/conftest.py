"""One live server with the demo models per module, and its admin key, for the client tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.app import create_app
from tests.conftest import LiveServer, build_test_settings, first_start_admin_headers, serve_in_thread


@pytest.fixture(scope="module")
def client_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client") / "home"


@pytest.fixture(scope="module")
def admin_key(client_home: Path) -> str:
    headers = asyncio.run(first_start_admin_headers(build_test_settings(client_home)))
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def server(client_home: Path, admin_key: str) -> Iterator[LiveServer]:
    settings = build_test_settings(client_home, demo_models=True, demo_text_models=False, job_poll_s=0.2)
    with serve_in_thread(create_app(settings)) as live:
        yield live
