"""Shared fixtures: settings in a temp home, an app with the demo models, service URLs.

Tests that need PostgreSQL, Redis or RabbitMQ take the ``postgres_url`` / ``redis_url`` /
``rabbitmq_url`` fixtures: they skip when the service is unreachable, unless
``MODELPORT_REQUIRE_SERVICES=1`` (CI), where an unreachable service fails the test.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from modelport.app import create_app
from modelport.bootstrap import Services, build_services
from modelport.errors import NotFound
from modelport.runtime.registry import FLAVORS
from modelport.settings import Settings
from tests.fixtures.databases import fresh_database
from tests.fixtures.redis_server import RedisServer

pytest_plugins = ["tests.fixtures.ordering"]  # slowest files first, so `--dist loadfile` balances

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
    async with fresh_database(postgres_server_url, "mp_test") as url:
        yield url




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
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server that a test may kill (never the shared one)."""
    if shutil.which("redis-server") is None:
        if REQUIRE_SERVICES:
            pytest.fail("redis-server is not installed and MODELPORT_REQUIRE_SERVICES=1")
        pytest.skip("redis-server not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def rabbitmq_url() -> str:
    return need_service(RABBITMQ_URL, 5672, "RabbitMQ")


FAKE_FLAVORS = {
    "test-sum": "tests.fixtures.runtimes:SumRuntime",
    "test-failing": "tests.fixtures.runtimes:FailingRuntime",
    "test-slow": "tests.fixtures.runtimes:SlowRuntime",
    "test-echo": "tests.fixtures.runtimes:EchoLengthRuntime",
    "test-words": "tests.fixtures.runtimes:WordsRuntime",
    "test-slow-text": "tests.fixtures.runtimes:SlowTextRuntime",  # deadlines (#16)
}


@contextmanager
def fake_flavors_registered() -> Iterator[None]:
    """The fake runtimes as flavors for the duration (module-scoped fixtures use this directly)."""
    FLAVORS.update(FAKE_FLAVORS)
    try:
        yield
    finally:
        for key in FAKE_FLAVORS:
            FLAVORS.pop(key, None)


@pytest.fixture
def fake_flavors() -> Iterator[None]:
    with fake_flavors_registered():
        yield


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """The test process' heap out of the collector while a timing test runs, as the server's is
    after its start: late in a run a test process holds every module earlier tests imported, and
    one full collection of that (~0.4 s for 650k objects on an idle core, far more on a loaded
    one) stalls the event loop past any deadline under test."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def write_fake_artifact(tmp: Path, name: str = "fake.json", **options: Any) -> Path:
    path = tmp / name
    path.write_text(json.dumps(options))
    return path


_DEMO_TEMPLATE: dict[str, Path] = {}


def demo_home_template() -> Path:
    """A home with the sklearn and ONNX demo models registered, built once per test process.

    Registering the demo models (skops files, the ONNX export, references, database rows) took
    1-2 s per test; copying a finished home takes milliseconds and gives the same rows."""
    if "home" not in _DEMO_TEMPLATE:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="modelport-demo-home-"))
        settings = _settings(root / "home", demo_models=True, demo_text_models=False, preload=False)

        async def first_start() -> None:  # writes admin.key too
            services = build_services(settings)
            try:
                await services.start()
            finally:
                await services.close()

        # in a thread of its own: callers may be inside a running event loop (async fixtures)
        worker = threading.Thread(target=asyncio.run, args=(first_start(),), name="demo-home")
        worker.start()
        worker.join(300)
        if not (settings.home / "admin.key").is_file():
            raise RuntimeError("building the demo home template failed (see the log above)")
        _DEMO_TEMPLATE["home"] = settings.home
    return _DEMO_TEMPLATE["home"]


def _settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "demo_models": False,
        "log_format": "console",
        "grpc_enabled": False,
        # a cold credential lookup on this loaded 2-core machine can take longer than the
        # serving default; tests of a sick database set their own
        "db_lookup_timeout_s": 5.0,
        # the fixtures' apps start with their aliased versions loaded, as tests of loaded state,
        # unloads and timings expect; the background preload (the serving default) has its own
        # tests (tests/api/test_preload.py), and `modelport serve` subprocesses run the default
        "preload_before_ready": True,
    }
    values.update(overrides)
    url = values.get("database_url")
    if url and not str(url).startswith("sqlite") and "secret_key" not in values:
        values["secret_key"] = TEST_SECRET  # only the embedded default generates its own
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def build_test_settings(home: Path, **overrides: Any) -> Settings:
    """Test settings in ``home``; ``make_settings`` uses it, module-scoped fixtures call it directly.

    Overrides are written with the flat names, as the environment variables spell them
    (``job_poll_s=0.2`` is ``MODELPORT_JOB_POLL_S``); ``Settings`` puts each in its group.

    A new embedded home that asks for the sklearn demo models starts as a copy of
    :func:`demo_home_template` (the first start then finds them registered)."""
    settings = _settings(home, **overrides)
    if (settings.models.demo and not settings.models.demo_text and settings.database.url is None
            and settings.artifacts.url is None and not home.exists()):
        shutil.copytree(demo_home_template(), home)
    return settings


@pytest.fixture
def make_settings(tmp_path: Path) -> Any:
    def factory(**overrides: Any) -> Settings:
        return build_test_settings(overrides.pop("home", tmp_path / "home"), **overrides)

    return factory


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings()


@pytest.fixture
def demo_settings(make_settings: Any) -> Settings:
    # the text demo models (minilm, tiny-chat) are slow to register; text tests opt back in
    return make_settings(demo_models=True, demo_text_models=False)


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
    return await first_start_admin_headers(make_settings())


async def first_start_admin_headers(settings: Settings) -> dict[str, str]:
    """Run the first start in ``settings.home`` (or read the ``admin.key`` an earlier one wrote)."""
    from modelport.security.admin import ensure_admin

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


@dataclass
class LiveServer:
    """A real server (uvicorn + the app's gRPC server) running in a background thread."""

    app: FastAPI
    host: str
    port: int
    grpc_port: int | None
    loop: asyncio.AbstractEventLoop

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def http_address(self) -> str:
        """``host:port``, the form tritonclient.http takes."""
        return f"{self.host}:{self.port}"

    @property
    def grpc_address(self) -> str:
        assert self.grpc_port, "gRPC is disabled for this server (grpc_enabled=False)"
        return f"{self.host}:{self.grpc_port}"

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        """Run a coroutine on the server's event loop (e.g. to register a model directly)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", timeout: float = 60.0) -> Iterator[LiveServer]:
    """Start ``app`` under uvicorn on a free port in a thread; stop it (lifespan included) on exit."""
    config = uvicorn.Config(app, host=host, port=0, loop="asyncio", log_config=None,
                            access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []
    failure: list[BaseException] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve()

    def target() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)

    thread = threading.Thread(target=target, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if failure or not thread.is_alive():
            raise RuntimeError(f"live server failed to start: {failure[:1]}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"live server not ready after {timeout} s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(app=app, host=host, port=port, grpc_port=getattr(app.state, "grpc_port", None),
                         loop=loops[0])
    finally:
        server.should_exit = True
        thread.join(timeout)
        assert not thread.is_alive(), "live server did not stop"


@pytest.fixture
def live_server(make_settings: Any) -> Iterator[LiveServer]:
    """A real HTTP + gRPC server on free ports with the demo models (iris, breast-cancer, diabetes)."""
    settings = make_settings(demo_models=True, demo_text_models=False, grpc_enabled=True, grpc_port=0)
    with serve_in_thread(create_app(settings)) as server:
        yield server
