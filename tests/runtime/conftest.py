"""A live server (HTTP + gRPC) per test module for the bring-your-own-model flavors."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.app import create_app
from tests.conftest import LiveServer, build_test_settings, first_start_admin_headers, serve_in_thread


@pytest.fixture(scope="module")
def byom_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("byom")


@pytest.fixture(scope="module")
def byom_headers(byom_home: Path) -> dict[str, str]:
    return asyncio.run(first_start_admin_headers(build_test_settings(byom_home / "home")))


@pytest.fixture(scope="module")
def byom_server(byom_home: Path, byom_headers: dict[str, str]) -> Iterator[LiveServer]:
    settings = build_test_settings(byom_home / "home", grpc_enabled=True, grpc_port=0, allow_code=True)
    with serve_in_thread(create_app(settings)) as server:
        yield server


@pytest.fixture
def quiet_mlflow() -> Iterator[None]:
    """mlflow warns that ``predict`` has no type hints whenever it saves a model (tests of MLflow
    models use it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType", category=UserWarning)
        yield
