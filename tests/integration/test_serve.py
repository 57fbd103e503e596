"""`modelport serve` on an empty home: demo models, the printed curl example works."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_prints_a_curl_that_works(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "MODELPORT_HOME": str(tmp_path / "home"), "MODELPORT_LOG_FORMAT": "json",
           "MODELPORT_GRPC_ENABLED": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelport.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.3)
            assert proc.poll() is None, "server exited early"
        assert ready, "server not ready within 120 s"
        assert proc.stdout is not None
        while True:
            line = proc.stdout.readline()
            lines.append(line)
            if "-d '" in line:
                break
        banner = "".join(lines)
        assert f"http://127.0.0.1:{port}/docs" in banner
        curl = re.search(r"try:\s+(curl .*?-d '.*?')", banner.replace("\\\n", " "), re.S)
        assert curl, banner
        out = subprocess.run(["bash", "-c", curl.group(1)], capture_output=True, text=True, timeout=30,
                             cwd=tmp_path)
        assert '"predictions":[0]' in out.stdout, out
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
