"""Servers for the OIP tests, shared per module (starting one with the demo models costs seconds).

Each holds the demo models plus ``echo`` (BYTES in and out) and ``failing``. Tests that unload models
put them back, so the module-wide server stays in the same state between tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from modelport.app import create_app
from modelport.bootstrap import Services
from tests.conftest import (
    LiveServer,
    build_test_settings,
    fake_flavors_registered,
    first_start_admin_headers,
    serve_in_thread,
    write_fake_artifact,
)


async def register_fakes(services: Services, tmp: Path) -> None:
    """``echo`` (text in and out) and ``failing`` (raises on every request)."""
    await services.models.register_file("echo", "test-echo", write_fake_artifact(tmp, "echo.json"),
                                        aliases=["production"])
    await services.models.register_file("failing", "test-failing",
                                        write_fake_artifact(tmp, "failing.json", n_features=2))


@pytest.fixture(scope="module")
def live_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oip-live")


@pytest.fixture(scope="module")
def asgi_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oip-asgi")


@pytest.fixture(scope="module")
def admin_headers(live_home: Path) -> dict[str, str]:
    """Overrides the root fixture: an admin key of the module's live server (its home's first start)."""
    return asyncio.run(first_start_admin_headers(build_test_settings(live_home / "home")))


@pytest.fixture(scope="module")
def asgi_admin_headers(asgi_home: Path) -> dict[str, str]:
    return asyncio.run(first_start_admin_headers(build_test_settings(asgi_home / "home")))


@pytest.fixture(scope="module")
def oip_server(live_home: Path, admin_headers: dict[str, str]) -> Iterator[LiveServer]:
    """uvicorn + gRPC on free ports, in a thread."""
    tmp = live_home
    settings = build_test_settings(tmp / "home", demo_models=True, demo_text_models=False,
                                   grpc_enabled=True, grpc_port=0)
    with fake_flavors_registered(), serve_in_thread(create_app(settings)) as server:
        server.run(register_fakes(server.services, tmp))
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def oip_app(asgi_home: Path, asgi_admin_headers: dict[str, str]) -> AsyncIterator[FastAPI]:
    """The ASGI app (lifespan running, no gRPC) for plain-httpx tests."""
    tmp = asgi_home
    app = create_app(build_test_settings(tmp / "home", demo_models=True, demo_text_models=False))
    with fake_flavors_registered():
        async with app.router.lifespan_context(app):
            await register_fakes(app.state.services, tmp)
            yield app


@pytest_asyncio.fixture(loop_scope="module")
async def oip_client(oip_app: FastAPI, asgi_admin_headers: dict[str, str]
                     ) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=oip_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=asgi_admin_headers) as client:
        yield client


@pytest.fixture
def http_client(oip_server: LiveServer) -> Iterator[Any]:
    import tritonclient.http as httpclient

    class HttpClient(httpclient.InferenceServerClient):  # type: ignore[misc]
        def __del__(self) -> None:
            """Closed by the fixture, in the thread that made it. The stock ``__del__`` closes again
            from whichever thread the garbage collector runs in (e.g. a gRPC stream callback
            thread), and gevent refuses that with InvalidThreadUseError."""

    client = HttpClient(oip_server.http_address)
    yield client
    client.close()


@pytest.fixture
def grpc_client(oip_server: LiveServer) -> Iterator[Any]:
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(oip_server.grpc_address)
    yield client
    client.close()
