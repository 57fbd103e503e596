"""The README's "Bring your own model" blocks run as written, but for the address and credentials."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelport.cli import app as cli
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def block(name: str) -> str:
    pattern = rf"<!-- byom:{re.escape(name)} .*?-->\n```(?:python|bash)\n(.*?)```"
    match = re.search(pattern, README.read_text(), re.DOTALL)
    assert match, f"README lost its byom:{name} block"
    return match.group(1)


def run_python(name: str, server: LiveServer, headers: dict[str, str]) -> list[str]:
    code = block(name)
    assert "http://localhost:8000" in code
    code = code.replace("http://localhost:8000", server.url)
    code = re.sub(r'\{"Authorization": "Bearer <[a-z ]+>"\}', repr(headers), code)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        # mlflow warns that an sklearn model's predict has no type hints
        warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType", category=UserWarning)
        exec(compile(code, f"README.md:byom:{name}", "exec"), {"__name__": "readme"})  # noqa: S102 (our README)
    return out.getvalue().splitlines()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_boosters_block(byom_server: LiveServer, byom_headers: dict[str, str], in_tmp: Path) -> None:
    assert run_python("boosters", byom_server, byom_headers) == ["iris-xgb [0, 2]", "iris-lgb [0, 2]"]


def test_python_model_blocks(byom_server: LiveServer, byom_headers: dict[str, str], in_tmp: Path) -> None:
    (in_tmp / "my_model").mkdir()
    (in_tmp / "my_model" / "model.py").write_text(block("model.py"))
    assert run_python("python-upload", byom_server, byom_headers) == ["201", "[1, 0]"]


def test_pytorch_block(byom_server: LiveServer, byom_headers: dict[str, str], in_tmp: Path) -> None:
    lines = run_python("pytorch", byom_server, byom_headers)
    assert lines == ["[{'name': 'input', 'dtype': 'float32', 'shape': [-1, 4]}]", "3"]


def test_mlflow_blocks(byom_server: LiveServer, byom_headers: dict[str, str], in_tmp: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_python("mlflow", byom_server, byom_headers) == ["[0]"]
    command = shlex.split(block("import-mlflow"))
    assert command[:3] == ["modelport", "models", "import-mlflow"]
    monkeypatch.setenv("MODELPORT_HOME", str(in_tmp / "home"))
    monkeypatch.setenv("MODELPORT_LOG_FORMAT", "console")
    monkeypatch.setenv("MODELPORT_DEMO_MODELS", "false")
    r = CliRunner().invoke(cli, command[1:])
    assert r.exit_code == 0, r.output
    assert "imported iris-local version 1" in r.output


def test_gpu_check_command() -> None:
    command = block("gpu-check").strip()
    assert command == "scripts/gpu_check.sh"
    env = {**os.environ, "GPU_CHECK_SENTENCES": "32", "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    from modelport.runtime.device import torch_device

    args = [str(ROOT / command)]
    if torch_device("auto") == "cpu":  # no GPU here: the script says so and fails, then --cpu
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stdout.startswith("GPU check FAILED: no GPU to check: "), done.stdout
        args.append("--cpu")
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "GPU check passed"
    assert any(line.startswith("pytorch (.pt2)") and line.endswith("OK") for line in lines)
    assert any(line.startswith("embeddings throughput") for line in lines)
