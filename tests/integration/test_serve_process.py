"""A real ``modelport serve`` process: drain on SIGTERM, and a client hang-up leaves the queue.

The server runs the real CLI in a subprocess; the only addition is the test flavors (so the
model can be made slow on purpose), registered before ``main()`` runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_fake_artifact

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
#: the CLI with the test flavors, in spawned worker processes too
LAUNCH = str(ROOT / "tests" / "fixtures" / "serve_with_test_flavors.py")
ROW = {"features": [1.0, 2.0, 3.0]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def auth_headers(home: Path) -> dict[str, str]:
    key = home / "admin.key"
    return {"Authorization": f"Bearer {key.read_text().strip()}"} if key.exists() else {}


class Server:
    def __init__(self, home: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.home, self.port, self.proc = home, port, proc
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "MODELPORT_HOME": str(home), "MODELPORT_DEMO_MODELS": "false",
           "MODELPORT_GRPC_ENABLED": "false", "MODELPORT_PORT": str(port), "MODELPORT_LOG_FORMAT": "json",
           # a short drain: the queued requests finish after the server stops listening (the
           # shutdown grace), not inside a 5 s drain window that outlasts them
           "MODELPORT_SHUTDOWN_GRACE_S": "20", "MODELPORT_DRAIN_S": "0.5"}
    artifact = write_fake_artifact(tmp_path, "slow.json", delay_s=0.25)
    subprocess.run([sys.executable, LAUNCH, "models", "register", str(artifact), "--name", "slow",
                    "--flavor", "test-slow", "--alias", "production", "--max-batch-size", "4"],
                   env=env, check=True, capture_output=True, timeout=120)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, LAUNCH, "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    srv = Server(home, port, proc)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{srv.url}/health/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.2)
    yield srv
    if proc.poll() is None:  # the whole group: worker processes and the job processes they started
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    log.close()


async def test_sigterm_drains_in_flight_requests_and_exits_zero(server: Server, tmp_path: Path) -> None:
    headers = auth_headers(server.home)
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, limits=limits, timeout=60) as client:
        tasks = [asyncio.ensure_future(client.post("/api/v1/models/slow/predict", json=ROW))
                 for _ in range(50)]
        # 50 requests at 4 per 0.25 s call need ~3 s: signal once they are all in the server
        deadline = time.monotonic() + 20
        while True:
            metrics = (await client.get("/metrics")).text
            line = next((x for x in metrics.splitlines()
                         if x.startswith('modelport_queue_depth{model="slow"}')), "")
            if line and float(line.split()[-1]) >= 30:
                break
            assert time.monotonic() < deadline, "requests never queued up"
            await asyncio.sleep(0.02)
        server.proc.send_signal(signal.SIGTERM)
        responses = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(1 for t in tasks if t.done()) == 50
    codes = [r.status_code if isinstance(r, httpx.Response) else repr(r) for r in responses]
    assert codes == [200] * 50
    assert all(r.json()["predictions"] == [6.0] for r in responses if isinstance(r, httpx.Response))
    # the served process names no server version (Granian's header says only "granian")
    assert all(r.headers.get("server", "granian") == "granian"
               for r in responses if isinstance(r, httpx.Response))
    assert server.proc.wait(timeout=30) == 0
    assert b"draining (readiness now 503)" in (tmp_path / "serve.log").read_bytes()


async def test_client_that_hangs_up_leaves_the_queue(server: Server) -> None:
    headers = auth_headers(server.home)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
        busy = [asyncio.ensure_future(client.post("/api/v1/models/slow/predict", json=ROW)) for _ in range(8)]
        await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=0.3) as impatient:
            with pytest.raises(httpx.ReadTimeout):
                await impatient.post("/api/v1/models/slow/predict", json=ROW)
        # the hung-up request is removed from the queue while the model is still busy
        await asyncio.sleep(0.1)
        metrics = (await client.get("/metrics")).text
        await asyncio.gather(*busy)
        final = (await client.get("/metrics")).text
    depth = next(x for x in metrics.splitlines() if x.startswith('modelport_queue_depth{model="slow"}'))
    assert float(depth.split()[-1]) <= 4, depth
    served = next(x for x in final.splitlines()
                  if x.startswith('modelport_batch_size_sum{model="slow"}'))
    assert float(served.split()[-1]) == 8.0, "the abandoned request must never reach the model"
