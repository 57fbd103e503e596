"""`modelport serve` (``python -m modelport.cli``) on an empty home: the sklearn and ONNX demo models
are registered at this first start, the banner names the docs, and its curl, run the moment the
banner is printed, answers with iris's prediction.

(The text demo models' first start in a real process: tests/integration/test_server_home.py.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.serve_process import ServeProcess


@pytest.mark.slow
def test_serve_prints_a_curl_that_works_the_moment_it_is_printed(tmp_path: Path) -> None:
    srv = ServeProcess(tmp_path / "home", module=True, cwd=tmp_path)
    try:
        curl = srv.banner_curl(timeout_s=180)
        done = subprocess.run(["bash", "-c", curl + " -w '\\n%{http_code}'"], capture_output=True,
                              text=True, timeout=30, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr
        body, status = done.stdout.rsplit("\n", 1)
        assert status == "200", done.stdout
        answer = json.loads(body)
        assert answer["model"] == "iris" and answer["predictions"] == [0], answer
        assert f"docs:    {srv.url}/docs" in "".join(srv.output)
    finally:
        srv.stop()
