"""Shared fixtures: settings in a temp home, an app with the demo models, service URLs.

Tests that need PostgreSQL, Redis or RabbitMQ take the ``postgres_url`` / ``redis_url`` /
``rabbitmq_url`` fixtures: they skip when the service is unreachable, unless
``MODELPORT_REQUIRE_SERVICES=1`` (CI), where an unreachable service fails the test.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from modelport.bootstrap import Services, build_services
from modelport.errors import NotFound
from modelport.runtime.registry import FLAVORS
from modelport.settings import Settings

POSTGRES_URL = os.environ.get("MODELPORT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MODELPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("MODELPORT_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REQUIRE_SERVICES = os.environ.get("MODELPORT_REQUIRE_SERVICES") == "1"
TEST_SECRET = "test-secret-key-" + "x" * 32


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 1):
            return True
    except OSError:
        return False


def need_service(url: str, port: int, what: str) -> str:
    if not reachable(url, port):
        if REQUIRE_SERVICES:
            pytest.fail(f"{what} at {url} is unreachable and MODELPORT_REQUIRE_SERVICES=1")
        pytest.skip(f"{what} unreachable at {url}")
    return url


@pytest.fixture
def postgres_server_url() -> str:
    """The PostgreSQL URL itself (shared database); most tests want ``postgres_url``."""
    return need_service(POSTGRES_URL, 5432, "PostgreSQL")


@pytest.fixture
async def postgres_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A URL of a fresh PostgreSQL database, dropped after the test (separate processes can share it)."""
    import asyncpg

    name = f"mp_test_{uuid.uuid4().hex[:12]}"
    dsn = postgres_server_url.replace("+asyncpg", "")
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base, _, _ = postgres_server_url.rpartition("/")
    yield f"{base}/{name}"
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_database_url(request: pytest.FixtureRequest) -> str | None:
    """Run a test on both adapters: ``None`` (embedded SQLite) and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def redis_url() -> str:
    return need_service(REDIS_URL, 6379, "Redis")


@pytest.fixture
def rabbitmq_url() -> str:
    return need_service(RABBITMQ_URL, 5672, "RabbitMQ")


@pytest.fixture
def fake_flavors() -> Iterator[None]:
    added = {
        "test-sum": "tests.fixtures.runtimes:SumRuntime",
        "test-failing": "tests.fixtures.runtimes:FailingRuntime",
        "test-slow": "tests.fixtures.runtimes:SlowRuntime",
    }
    FLAVORS.update(added)
    yield
    for key in added:
        FLAVORS.pop(key, None)


def write_fake_artifact(tmp: Path, name: str = "fake.json", **options: Any) -> Path:
    path = tmp / name
    path.write_text(json.dumps(options))
    return path


@pytest.fixture
def make_settings(tmp_path: Path) -> Any:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "home": tmp_path / "home",
            "demo_models": False,
            "log_format": "console",
            "grpc_enabled": False,
        }
        values.update(overrides)
        url = values.get("database_url")
        if url and not str(url).startswith("sqlite") and "secret_key" not in values:
            values["secret_key"] = TEST_SECRET  # only the embedded default generates its own
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return factory


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings()


@pytest.fixture
def demo_settings(make_settings: Any) -> Settings:
    return make_settings(demo_models=True)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Started services (migrated database, no demo models), without HTTP."""
    svc = build_services(settings)
    await svc.start()
    yield svc
    await svc.close()


async def mint_admin_headers(services: Services, scopes: list[str] | None = None,
                             **key_options: Any) -> dict[str, str]:
    """Headers with a fresh API key (``admin`` by default) for any started ``Services``."""
    from modelport.security.admin import ADMIN_USER

    try:
        owner = await services.auth.users.by_username(ADMIN_USER)
    except NotFound:
        owner = await services.auth.users.create(ADMIN_USER, None, role="admin")
    _, key = await services.auth.keys.create(owner.id, name="test", scopes=scopes or ["admin"], **key_options)
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def app(demo_settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with the three demo models, its lifespan running."""
    application = create_app(demo_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def admin_headers(make_settings: Any) -> dict[str, str]:
    """Admin credentials valid for every app or ``Services`` the test builds on its default home
    (the embedded SQLite in ``tmp_path/home``, as ``make_settings()`` gives): this fixture runs the
    first start there (or reads the ``admin.key`` an earlier start wrote). For an app on another
    database, call :func:`mint_admin_headers` with its services."""
    from modelport.security.admin import ensure_admin

    settings = make_settings()
    services = build_services(settings)
    try:
        await services.start(serve=False)
        key = await ensure_admin(services.auth, settings.home)
    finally:
        await services.close()
    key = key or (settings.home / "admin.key").read_text().strip()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def client(app: FastAPI, admin_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=admin_headers) as c:
        yield c
