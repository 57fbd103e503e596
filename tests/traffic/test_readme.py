"""The README's traffic-control curl block runs, unchanged, against a live server."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from modelport.app import create_app
from tests.conftest import serve_in_thread
from tests.webhooks.receiver import Receiver

README = Path(__file__).resolve().parents[2] / "README.md"


def snippet() -> str:
    match = re.search(r"<!-- traffic-snippet.*?-->\n```bash\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, "README lost its traffic snippet"
    return match.group(1)


def test_readme_traffic_block_runs(make_settings: Any, admin_headers: dict[str, str], tmp_path: Path) -> None:
    settings = make_settings(demo_models=True, demo_text_models=False, webhook_allow_private=True)
    x, y = load_iris(return_X_y=True)
    receiver = Receiver().start()
    try:
        with serve_in_thread(create_app(settings)) as server:
            for c in (0.5, 2.0):  # versions 2 and 3 of the demo iris
                path = tmp_path / f"iris-{c}.skops"
                sio.dump(LogisticRegression(C=c, max_iter=300).fit(x, y), path)
                server.run(server.services.models.register_file("iris", "sklearn", path))
            env = {**os.environ, "MODELPORT_URL": server.url,
                   "MODELPORT_KEY": admin_headers["Authorization"].removeprefix("Bearer "),
                   "WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": "readme-secret-0123456789"}
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", snippet()], env=env,  # noqa: S603, S607
                                  capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0, done.stderr
            policy, prediction, compared, rolled, history, hook = map(json.loads, done.stdout.splitlines())
            assert policy["traffic"]["shadow"] == {"version": 3, "fraction": 0.25}
            assert prediction["version"] in (1, 2)
            assert {v["version"] for v in compared["versions"]} >= {prediction["version"]}
            assert rolled["traffic"]["routes"] == [{"version": 1, "weight": 100}]
            assert [e["action"] for e in history] == ["rollback", "set"]
            assert hook["events"] == ["alias.changed", "alias.rolled_back"]
    finally:
        receiver.stop()
