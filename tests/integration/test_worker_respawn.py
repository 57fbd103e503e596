"""A worker process that dies is replaced: the server keeps its port and answers again."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.serve_process import ServeProcess

pytestmark = pytest.mark.slow


def test_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    srv = ServeProcess(tmp_path / "home", "--no-demo")
    try:
        srv.wait_for_line("modelport is ready on")
        ready = srv.home / "run" / "ready"
        (first,) = [int(p.name) for p in ready.iterdir()]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while {int(p.name) for p in ready.iterdir()} == {first}:
            assert srv.proc.poll() is None, srv.tail()
            assert time.monotonic() < deadline, "no new worker started"
            time.sleep(0.2)
        srv.wait_ready()
        assert httpx.get(f"{srv.url}/api/v1/models", headers=srv.auth(), timeout=10).status_code == 200
        assert srv.proc.poll() is None
    finally:
        srv.stop()


@pytest.mark.parametrize("env", [
    {"MODELPORT_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none"},  # start-up fails
    {"MODELPORT_CORS_ORIGINS": '["*"]', "MODELPORT_CORS_ALLOW_CREDENTIALS": "true"},  # the app refuses
], ids=["lifespan", "factory"])
def test_a_worker_that_cannot_start_stops_the_server_with_exit_1(tmp_path: Path, env: dict[str, str]) -> None:
    srv = ServeProcess(tmp_path / "home", "--no-demo", env={**env, "MODELPORT_DRAIN_S": "0.5"})
    try:
        assert srv.proc.wait(timeout=90) == 1, srv.tail()
        assert "modelport is ready on" not in "".join(srv.output)
    finally:
        srv.stop()
