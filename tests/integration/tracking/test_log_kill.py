"""Answered means recorded: a ``modelport serve`` process on PostgreSQL killed with SIGKILL
under load, then restarted: every prediction that got a 200 has its row, exactly once, and
nothing stays in the journal or the spill directory."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import TEST_SECRET, write_fake_artifact
from tests.integration.test_serve_process import free_port

pytestmark = [pytest.mark.chaos, pytest.mark.services]
ROOT = Path(__file__).resolve().parents[3]
#: the CLI with the test flavors registered in the server's spawned worker processes too
LAUNCH = str(ROOT / "tests" / "fixtures" / "serve_with_test_flavors.py")


def start(env: dict[str, str], log: Path, url: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen([sys.executable, LAUNCH, "serve"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.2)


def unstored_rows(journal: Path) -> bool:
    """A journal segment holds rows (answered, not yet in the database)."""
    for segment in journal.glob("predictions-*.jsonl"):
        try:
            if segment.stat().st_size:
                return True
        except FileNotFoundError:  # stored and discarded meanwhile
            continue
    return False


async def test_kill_9_under_load_loses_no_answered_prediction(postgres_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MODELPORT_HOME": str(home), "MODELPORT_DEMO_MODELS": "false",
           "MODELPORT_GRPC_ENABLED": "false", "MODELPORT_PORT": str(port), "MODELPORT_LOG_FORMAT": "json",
           "MODELPORT_DATABASE_URL": postgres_url, "MODELPORT_SECRET_KEY": TEST_SECRET,
           "MODELPORT_CACHE_ENABLED": "false", "MODELPORT_LOG_FLUSH_INTERVAL_S": "0.5",
           "MODELPORT_DRAIN_S": "0"}  # the last stop is a SIGTERM: no 5 s drain window to wait out
    artifact = write_fake_artifact(tmp_path, "sum.json")
    subprocess.run([sys.executable, LAUNCH, "models", "register", str(artifact), "--name", "sum",
                    "--flavor", "test-sum", "--alias", "production"],
                   env=env, check=True, capture_output=True, timeout=120)
    log = tmp_path / "serve.log"
    proc = start(env, log, url)
    answered: list[str] = []
    try:
        key = (home / "admin.key").read_text().strip()
        headers = {"Authorization": f"Bearer {key}"}
        stop = asyncio.Event()

        async def client(n: int, http: httpx.AsyncClient) -> None:
            i = 0
            while not stop.is_set():
                rid = f"c{n}-{i}"
                i += 1
                try:
                    r = await http.post(f"{url}/api/v1/models/sum/predict", json={"features": [i, 1, 1]},
                                        headers={**headers, "X-Request-ID": rid})
                except httpx.TransportError:
                    return  # the server is gone
                if r.status_code == 200:
                    answered.append(rid)

        async with httpx.AsyncClient(timeout=5) as http:
            clients = [asyncio.create_task(client(n, http)) for n in range(16)]
            await asyncio.sleep(2.0)  # several flushes
            # killed while answered rows wait in the journal: a loaded host can go a flush interval
            # without an answer, and a kill then leaves nothing to replay
            deadline = time.monotonic() + 10
            while not unstored_rows(home / "journal"):
                assert time.monotonic() < deadline, "no answered row waited in the journal"
                await asyncio.sleep(0.005)
            os.killpg(proc.pid, signal.SIGKILL)  # the server and its worker processes, as a pod dies
            proc.wait(10)
            stop.set()
            await asyncio.gather(*clients)
        assert len(answered) > 50
        assert list((home / "journal").glob("predictions-*.jsonl")), "the killed process left its journal"
        proc = start(env, log, url)  # start-up replays the journal
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    conn = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT request_id FROM predictions")
    finally:
        await conn.close()
    ids = [r["request_id"] for r in rows]
    assert len(ids) == len(set(ids)), "exactly once"
    missing = set(answered) - set(ids)
    assert not missing, f"{len(missing)} of {len(answered)} answered predictions have no row"
    assert not list((home / "journal").glob("predictions-*.jsonl"))
    assert not list((home / "spill").glob("predictions-*.jsonl"))
