"""Every shell and Python block of the README runs in a test; this file runs the reference blocks.

A fenced ``bash`` or ``python`` block (or one without a language) is either inside the quickstart,
which ``tests/test_readme_quickstart.py`` runs, or right under an HTML comment naming the test
file that runs it. The blocks whose comment says ``reference: run by tests/test_readme_blocks.py``
run here, in order, in one shell against a live server, with the quickstart's ``MODELPORT_URL``
and ``MODELPORT_KEY`` exported (only the address is changed).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modelport.app import create_app
from tests.conftest import build_test_settings, first_start_admin_headers, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
RUNNABLE = {"", "bash", "sh", "shell", "console", "python", "py"}
NAMED_TEST = re.compile(r"^<!--[^>]*?\b(tests/[\w/]+\.py)\b[^>]*-->$")
REFERENCE = "reference: run by tests/test_readme_blocks.py"
SEPARATOR = "=== README block {} ==="


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    code: str
    comment: str  # the line right above the fence
    in_quickstart: bool


def readme_blocks() -> list[Block]:
    text = README.read_text()
    start, end = text.index("<!-- quickstart:"), text.index("<!-- /quickstart -->")
    found = []
    for match in FENCE.finditer(text):
        above = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        found.append(Block(line=text.count("\n", 0, match.start()) + 1, lang=match.group(1),
                           code=match.group(2), comment=above, in_quickstart=start < match.start() < end))
    return found


def test_every_runnable_block_names_the_test_that_runs_it() -> None:
    runnable = [b for b in readme_blocks() if b.lang in RUNNABLE]
    assert len(runnable) > 10 and any(b.in_quickstart for b in runnable)
    for block in runnable:
        if block.in_quickstart:
            continue
        named = NAMED_TEST.match(block.comment)
        assert named, f"README.md:{block.line}: a {block.lang or 'plain'} block names no test above it"
        path = ROOT / named.group(1)
        assert path.is_file() and "README" in path.read_text(), f"README.md:{block.line}: {named.group(1)}"


def reference_script(url: str) -> str:
    script = ["set -euo pipefail"]
    for i, block in enumerate(b for b in readme_blocks() if REFERENCE in b.comment):
        script.append(f"echo '{SEPARATOR.format(i)}'")
        code = block.code.replace("http://127.0.0.1:8000", url)
        script.append(code if block.lang == "bash" else f"{sys.executable} - <<'PYTHON'\n{code}PYTHON")
    return "\n".join(script)


def wait_for_job(url: str, headers: dict[str, str], job_id: str) -> str:
    state = "queued"
    for _ in range(600):  # 120 s at most
        state = httpx.get(f"{url}/api/v1/jobs/{job_id}", headers=headers, timeout=10).json()["state"]
        if state in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)
    return state


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_reference_blocks_run(tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        if os.environ.get("MODELPORT_REQUIRE_SERVICES") == "1":
            pytest.fail("jq not found (the Security block reads a token with it)")
        pytest.skip("jq is not installed")
    home = tmp_path / "home"
    admin = asyncio.run(first_start_admin_headers(build_test_settings(home)))
    settings = build_test_settings(home, demo_models=True, demo_text_models=False, job_poll_s=0.2)
    with serve_in_thread(create_app(settings)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
        env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                   MODELPORT_URL=server.url, MODELPORT_KEY=admin["Authorization"].removeprefix("Bearer "),
                   XDG_DATA_HOME=str(tmp_path / "data"), MODELPORT_CONFIG_DIR=str(tmp_path / "config"),
                   COLUMNS="200")
        done = subprocess.run(["bash", "-c", reference_script(server.url)], cwd=tmp_path, env=env,  # noqa: S603, S607
                              capture_output=True, text=True, timeout=240, check=False)
        job_id = re.search(r'"job_id":\s*"([^"]+)"', done.stdout)
        if job_id:  # the training job the Jobs block queued ends before the server stops
            assert wait_for_job(server.url, admin, job_id.group(1)) == "succeeded"
    assert done.returncode == 0, done.stdout + done.stderr
    outputs = re.split(r"^=== README block \d+ ===$", done.stdout, flags=re.MULTILINE)[1:]
    security, jobs, digits = outputs
    assert "my-service" in security and '"key":"mp_' in security.replace(" ", "")
    assert security.rstrip().endswith("[]")  # alice signed in and has no keys yet
    assert job_id and '"state"' in jobs  # the 202 answer: the job, queued
    assert '"predictions":[7]' in digits.replace(" ", "")
