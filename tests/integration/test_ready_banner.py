"""Ready means ready (#19): with ``--workers 2`` there is one banner once both workers are ready,
its curl answers, ``/metrics`` adds up both workers, and shutdown leaks no semaphore. (The banner's
curl run the moment it is printed by a single-process first start: tests/integration/test_serve.py.)"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.fixtures.serve_process import ServeProcess

pytestmark = pytest.mark.slow
PREDICT_ROUTE = 'route="/api/v1/models/{name}/predict"'


def run_curl(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], capture_output=True, text=True,
                          timeout=30, check=False)


def predict_count(metrics: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("modelport_http_requests_total{") and PREDICT_ROUTE in line
               and 'status="200"' in line)


def test_two_workers_one_banner_metrics_add_up_and_a_clean_shutdown(tmp_path: Path) -> None:
    home = tmp_path / "home"
    stale = home / "run" / "prometheus"
    stale.mkdir(parents=True)
    (stale / "counter_999999.db").write_bytes(b"stale")  # a crashed run's file: cleaned at start
    # a short drain window: the shutdown below is checked for its exit status and leaks, not its length
    srv = ServeProcess(home, "--workers", "2",
                       env={"MODELPORT_CACHE_ENABLED": "false", "MODELPORT_DRAIN_S": "0.2"})
    try:
        curl = srv.banner_curl()
        done = run_curl(curl)
        assert done.stdout.rsplit("\n", 1)[1] == "200", done.stdout + done.stderr
        assert not (stale / "counter_999999.db").exists()
        headers = srv.auth()
        before = predict_count(httpx.get(f"{srv.url}/metrics", headers=headers, timeout=10).text)

        def predict(i: int) -> int:
            r = httpx.post(f"{srv.url}/api/v1/models/iris/predict", headers=headers, timeout=30,
                           json={"features": [5.1, 3.5, 1.4, 0.1 * (i % 20)]})
            return r.status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(predict, range(100)))
        assert codes == [200] * 100
        after = predict_count(httpx.get(f"{srv.url}/metrics", headers=headers, timeout=10).text)
        assert after - before == 100
        counters = {p.name.rsplit("_", 1)[1] for p in stale.glob("counter_*.db")}
        assert len(counters) == 2, f"both workers served requests: {counters}"
        srv.terminate()
        assert srv.proc.wait(timeout=60) == 0, srv.tail()
        srv.reader.join(5)
        output = "".join(srv.output)
        assert output.count("modelport is ready on") == 1
        assert "leaked semaphore" not in output and "resource_tracker" not in output, srv.tail()
    finally:
        srv.stop()
