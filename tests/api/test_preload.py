"""Cold start (#16): the aliased versions load in the background once the server is ready.

A request for a version still loading waits for that load (one load, not two), readiness says
``preloading`` until the preload ends, OIP readiness of the version follows its load, an OIP
unload during the load unloads what it loads, shutdown abandons a load in progress, and
``preload_before_ready`` keeps the old strict readiness.

The slow model is the ``test-slow`` fake flavor with a ``load_gate``: its load waits until the
test creates that file, so the test, not a timer, decides when the load ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from modelport.bootstrap import Services, build_services
from modelport.settings import Settings
from tests.conftest import mint_admin_headers, write_fake_artifact

pytestmark = pytest.mark.usefixtures("fake_flavors")
KEY = ("slow", 1)
ROW = {"features": [1.0, 2.0, 3.0]}


async def home_with_slow_model(make_settings: Any, tmp_path: Path, **overrides: Any) -> tuple[Settings, Path]:
    """A home whose one model, ``slow`` (aliased), loads only once the returned gate file exists."""
    gate = tmp_path / "gate"
    gate.touch()  # open while registering: registration loads the model (to inspect it, then to warm it)
    settings: Settings = make_settings(**overrides)
    services = build_services(settings)
    await services.start(serve=False)
    try:
        artifact = write_fake_artifact(tmp_path, "slow.json", load_gate=str(gate), delay_s=0)
        await services.models.register_file("slow", "test-slow", artifact, aliases=["production"])
    finally:
        await services.close()
    gate.unlink()
    return settings, gate


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[asyncio.Event]:
    """The app's lifespan in a task of its own: the returned event is set once start-up finished."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    task = asyncio.ensure_future(run())
    try:
        yield started
    finally:
        stop.set()
        await task


@asynccontextmanager
async def ready_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Serve the app; once its start-up finished, a client with admin credentials."""
    async with serving(app) as started:
        await asyncio.wait_for(started.wait(), 30)
        headers = await mint_admin_headers(app.state.services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=headers, timeout=60) as c:
            yield c


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def loads(services: Services) -> float | None:
    """How many times ``slow`` v1 was loaded by the manager (its load-time histogram's count)."""
    return services.metrics.registry.get_sample_value(
        "modelport_model_load_seconds_count", {"model": "slow", "version": "1"})


@asynccontextmanager
async def loading_slow_model(make_settings: Any, tmp_path: Path) -> AsyncIterator[
        tuple[httpx.AsyncClient, Services, Path]]:
    """A ready server whose preload is loading ``slow`` v1, blocked until the gate file exists:
    an admin client, the services, and that gate."""
    settings, gate = await home_with_slow_model(make_settings, tmp_path, preload_before_ready=False)
    app = create_app(settings)
    services: Services = app.state.services
    try:
        async with ready_client(app) as http:
            await until(lambda: services.manager.is_loading(KEY))
            yield http, services, gate
    finally:
        gate.touch()


async def test_ready_before_the_preload_and_a_request_waits_for_the_one_load(
        make_settings: Any, tmp_path: Path) -> None:
    async with loading_slow_model(make_settings, tmp_path) as (http, services, gate):
        r = await http.get("/health/ready")  # ready with the load still blocked
        assert r.status_code == 200 and r.json()["checks"]["models_loaded"] == 0
        predict = asyncio.ensure_future(http.post("/api/v1/models/slow/predict", json=ROW))
        await asyncio.sleep(0.3)
        assert not predict.done()  # waiting for the preload's load
        gate.touch()
        r = await predict
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == [6.0]
        await services.preloaded()
        assert loads(services) == 1  # the request joined the preload's load


async def test_health_ready_says_preloading_until_the_preload_ends(make_settings: Any,
                                                                    tmp_path: Path) -> None:
    settings, gate = await home_with_slow_model(make_settings, tmp_path, preload_before_ready=False)
    app = create_app(settings)
    try:
        async with ready_client(app) as http:
            checks = (await http.get("/health/ready")).json()["checks"]
            assert checks["preloading"] is True and checks["models_loaded"] == 0
            gate.touch()
            await app.state.services.preloaded()
            r = await http.get("/health/ready")
            assert r.status_code == 200
            assert r.json()["checks"]["preloading"] is False and r.json()["checks"]["models_loaded"] == 1
    finally:
        gate.touch()


async def test_oip_model_readiness_follows_the_load(make_settings: Any, tmp_path: Path) -> None:
    async with loading_slow_model(make_settings, tmp_path) as (http, services, gate):
        assert (await http.get("/v2/health/ready")).status_code == 200  # the server is ready
        r = await http.get("/v2/models/slow/ready")
        assert (r.status_code, r.json()) == (400, {"name": "slow", "ready": False})
        index = (await http.post("/v2/repository/index", json={})).json()
        assert index == [{"name": "slow", "version": "1", "state": "UNAVAILABLE", "reason": "loading"}]
        gate.touch()
        await services.preloaded()
        r = await http.get("/v2/models/slow/ready")
        assert (r.status_code, r.json()) == (200, {"name": "slow", "ready": True})


async def test_preload_before_ready_waits_for_the_load(make_settings: Any, tmp_path: Path) -> None:
    settings, gate = await home_with_slow_model(make_settings, tmp_path, preload_before_ready=True)
    app = create_app(settings)
    services: Services = app.state.services
    try:
        async with serving(app) as started:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                await until(lambda: services.manager.is_loading(KEY))
                r = await http.get("/health/ready")
                assert r.status_code == 503
                assert r.json()["checks"]["started"] is False and r.json()["checks"]["preloading"] is True
                assert not started.is_set()
                gate.touch()
                await asyncio.wait_for(started.wait(), 30)
                r = await http.get("/health/ready")
                assert r.status_code == 200
                assert r.json()["checks"]["models_loaded"] == 1 and r.json()["checks"]["preloading"] is False
            assert services.manager.is_loaded(KEY) and loads(services) == 1
    finally:
        gate.touch()


async def test_shutdown_during_the_preload_abandons_the_load(make_settings: Any, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    settings, gate = await home_with_slow_model(make_settings, tmp_path, preload_before_ready=False)
    app = create_app(settings)
    services: Services = app.state.services
    try:
        with caplog.at_level(logging.INFO, logger="modelport"):
            async with serving(app) as started:
                await asyncio.wait_for(started.wait(), 30)
                await until(lambda: services.manager.is_loading(KEY))
                stopping = time.monotonic()
            # the gate never opened: a shutdown that waited for the load would take its 30 s
            assert time.monotonic() - stopping < 10
        assert not services.preloading and not services.manager.is_loaded(KEY)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    finally:
        gate.touch()


async def test_a_failed_preload_is_logged_and_the_server_still_starts(
        make_settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings, gate = await home_with_slow_model(make_settings, tmp_path, preload_before_ready=False)
    gate.touch()
    services = build_services(settings)
    await services.start(serve=False)
    try:  # the stored artifact no longer matches its checksum: its load is refused
        info = await services.registry.resolve("slow")
        services.store.local_path(info.artifact_key).write_text('{"tampered": true}')
    finally:
        await services.close()
    app = create_app(settings)
    with caplog.at_level(logging.INFO, logger="modelport"):
        async with serving(app) as started:
            await asyncio.wait_for(started.wait(), 30)
            await app.state.services.preloaded()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                r = await http.get("/health/ready")
            assert r.status_code == 200 and r.json()["checks"]["preloading"] is False
    assert "preloading slow v1 failed" in caplog.text


async def test_a_drain_stops_the_preload_before_its_next_version(make_settings: Any, tmp_path: Path) -> None:
    settings, gate = await home_with_slow_model(make_settings, tmp_path, preload_before_ready=False)
    gate.touch()
    services = build_services(settings)
    await services.start(serve=False)
    try:  # "zz" comes after "slow" in the preload's order (by name)
        await services.models.register_file("zz", "test-sum", write_fake_artifact(tmp_path, "zz.json"),
                                             aliases=["production"])
    finally:
        await services.close()
    gate.unlink()
    app = create_app(settings)
    services = app.state.services
    try:
        async with serving(app) as started:
            await asyncio.wait_for(started.wait(), 30)
            await until(lambda: services.manager.is_loading(KEY))
            services.state.draining = True  # as SIGTERM does
            gate.touch()
            await services.preloaded()
            assert services.manager.is_loaded(KEY) and not services.manager.is_loaded(("zz", 1))
    finally:
        gate.touch()


async def test_an_oip_unload_during_the_preload_unloads_the_version_once_loaded(
        make_settings: Any, tmp_path: Path) -> None:
    async with loading_slow_model(make_settings, tmp_path) as (http, services, gate):
        unload = asyncio.ensure_future(http.post("/v2/repository/models/slow/unload", json={}))
        await asyncio.sleep(0.3)
        assert not unload.done()  # waits for the load under way
        gate.touch()
        r = await unload
        assert r.status_code == 200, r.text
        await services.preloaded()
        assert loads(services) == 1 and not services.manager.is_loaded(KEY)
        assert (await http.get("/v2/models/slow/ready")).status_code == 400
