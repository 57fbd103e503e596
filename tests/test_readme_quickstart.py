"""The README quickstart, run as written against a live server (only the address is changed).

``make serve`` is the server this test starts itself (with the per-user default home the
quickstart's ``modelport config --get home`` finds); every other block runs in order in one
shell, the Python block with the variables the shell exported.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modelport.app import create_app
from tests.conftest import build_test_settings, first_start_admin_headers, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def quickstart_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"<!-- quickstart:.*?-->(.*?)<!-- /quickstart -->", text, re.DOTALL)
    assert section, "README lost its quickstart"
    return re.findall(r"```(bash|python)\n(.*?)```", section.group(1), re.DOTALL)


def documented_answer() -> dict[str, object]:
    text = (ROOT / "README.md").read_text()
    shown = re.search(r"<!-- quickstart-answer -->\n```json\n(.*?)```", text, re.DOTALL)
    assert shown, "README lost the quickstart's answer"
    answer: dict[str, object] = json.loads(shown.group(1))
    return answer


def test_the_quickstart_runs(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    assert blocks[0] == ("bash", "make serve\n")
    home = tmp_path / "data" / "modelport"
    asyncio.run(first_start_admin_headers(build_test_settings(home)))
    settings = build_test_settings(home, demo_models=True, demo_text_models=False, job_poll_s=0.2)
    with serve_in_thread(create_app(settings)) as server:
        script = ["set -euo pipefail"]
        for kind, code in blocks[1:]:
            code = code.replace("http://127.0.0.1:8000", server.url)
            if kind == "python":
                path = tmp_path / "quickstart.py"
                path.write_text(code)
                script.append(f"{sys.executable} {path}")
            else:
                script.append(code)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
        env.update(XDG_DATA_HOME=str(tmp_path / "data"), MODELPORT_CONFIG_DIR=str(tmp_path / "config"),
                   COLUMNS="200")
        done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=240)
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    answer, _ = json.JSONDecoder().raw_decode(out, out.index("{"))  # the curl's JSON, first output
    assert answer["prediction"] == 0 and answer["model_version"] == 1
    assert answer["low_confidence"] == [answer["confidence"] < 0.8]
    shown = documented_answer()  # the answer the README shows is this one's shape
    assert {k: type(v) for k, v in shown.items()} == {k: type(v) for k, v in answer.items()}
    assert "[0, 2] 1" in out  # the client's predictions and version
    assert "100% " in out and "'accuracy'" in out  # the job's progress callback and its metrics
    assert "iris-lr version 1" in out and "mp_" in out  # the CLI trained and made a key
