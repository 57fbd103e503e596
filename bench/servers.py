"""The servers under test: modelport and the peers of ../shared/peers, each started on loopback.

Each peer runs from its own virtualenv under bench/.work/venvs (created on first use with the
packages the peers README names, scikit-learn pinned to the version that trained the models; the
embeddings peer, infinity-emb, likewise).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sklearn

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / ".work"
SK = f"scikit-learn=={sklearn.__version__}"

VENVS: dict[str, list[str]] = {
    "hello": ["fastapi", "uvicorn[standard]"],
    "seed_fastapi": ["fastapi", "uvicorn[standard]", SK, "joblib"],
    "litserve": ["litserve>=0.2,<0.3", SK, "joblib"],
    # MLServer 1.7 calls asyncio.get_event_loop() outside a loop, which uvloop >= 0.22 refuses
    "mlserver": ["mlserver", "mlserver-sklearn", SK, "joblib", "uvloop<0.22"],
    # the embeddings specialist (bench/embeddings.py). torch pinned exactly: the CPU wheel modelport
    # uses; a range lets pip pick a multi-GB CUDA build. infinity-emb 0.0.78 wants numpy<2 and
    # sentence-transformers<4, which is why it cannot share modelport's environment
    "infinity": ["infinity-emb[server,torch]==0.0.78", "torch==2.13.0"],
}


def shared_peers() -> Path:
    """CI clones the repo with shared/ beside it; a worktree finds it one level further up."""
    for base in (REPO.parent / "shared", REPO.parent.parent / "shared", Path("/work/shared")):
        if (base / "peers" / "make_models.py").exists():
            return base / "peers"
    raise SystemExit("cannot find shared/peers beside the repository")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def venv(name: str) -> Path:
    """The peer's virtualenv, created or updated when its package list changed."""
    path = WORK / "venvs" / name
    marker = path / ".installed"
    wanted = " ".join(VENVS[name])
    if marker.exists() and marker.read_text().strip() == wanted:
        return path
    print(f"creating virtualenv for {name}: {wanted}", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(path)], check=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *VENVS[name]], check=True)
    marker.write_text(wanted)
    return path


@dataclass
class Target:
    """One server configuration: how to start it and what each workload posts where."""

    name: str
    command: Callable[[int], list[str]]
    paths: dict[str, str]  # workload model -> URL path
    bodies: dict[str, Path]
    health: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    prepare: Callable[[int], None] | None = None
    auth: Callable[[], str] = lambda: ""
    startup_s: float = 180.0
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self, log_dir: Path) -> None:
        self.port = free_port()
        if self.prepare is not None:
            self.prepare(self.port)
        log_dir.mkdir(parents=True, exist_ok=True)
        log = (log_dir / f"{self.name.replace(' ', '_').replace('/', '_')}.log").open("wb")
        self.process = subprocess.Popen(
            self.command(self.port), env={**os.environ, **self.env}, cwd=self.cwd, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.health}", timeout=2):
                    return
            except urllib.error.HTTPError as exc:
                if exc.code in (404, 405):
                    return  # up: a POST-only path answers GET with 404/405
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {self.startup_s:.0f} s")

    def url(self, model: str) -> str:
        return f"http://127.0.0.1:{self.port}{self.paths[model]}"

    def rss_mb(self) -> float:
        """Resident memory of the server's whole process tree (server + workers)."""
        if self.process is None:
            return 0.0
        pid = str(self.process.pid)
        out = subprocess.run(["ps", "-o", "rss=", "--ppid", pid, "-p", pid], capture_output=True,
                             text=True).stdout
        kids = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split()
        total = sum(int(x) for x in out.split())
        for kid in kids:  # grandchildren (uvicorn workers spawn via multiprocessing)
            more = subprocess.run(["ps", "-o", "rss=", "--ppid", kid], capture_output=True, text=True).stdout
            total += sum(int(x) for x in more.split())
        return total / 1024

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def modelport(models: Path, bodies: Path, *, workers: int = 1, model_workers: int = 0,
              name: str = "modelport", prediction_log: bool = True) -> Target:
    home = WORK / f"home-{name.replace(' ', '-').replace('/', '-')}"
    exe = Path(sys.executable).with_name("modelport")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-c", "from modelport.cli import main; main()"]
    env = {"MODELPORT_HOME": str(home), "MODELPORT_ALLOW_PICKLE": "true",
           "MODELPORT_DEMO_MODELS": "false", "MODELPORT_GRPC_ENABLED": "false",
           "MODELPORT_LOG_FORMAT": "json", "MODELPORT_HOST": "127.0.0.1",
           # every request must run the model: wrk repeats one body, which the cache would answer
           # the rate limit stays on the path, set above what one wrk client sends
           "MODELPORT_RATE_LIMIT": "100000000/minute",
           "MODELPORT_CACHE_ENABLED": "false", "MODELPORT_MODEL_WORKERS": str(model_workers),
           "MODELPORT_PREDICTION_LOG": "true" if prediction_log else "false"}

    def prepare(port: int) -> None:
        shutil.rmtree(home, ignore_errors=True)
        for model in ("rf", "logreg"):
            subprocess.run([*cli, "models", "register", str(models / f"{model}.joblib"), "--name", model,
                            "--alias", "production"], env={**os.environ, **env}, check=True,
                           capture_output=True)

    def auth() -> str:
        key = home / "admin.key"
        return f"Bearer {key.read_text().strip()}" if key.exists() else ""

    return Target(
        name=name, command=lambda port: [*cli, "serve", "--port", str(port), "--workers", str(workers)],
        paths={"rf": "/api/v1/models/rf/predict", "logreg": "/api/v1/models/logreg/predict"},
        bodies={"rf": bodies / "hello.json", "logreg": bodies / "hello.json"},
        health="/health/ready", env=env, prepare=prepare, auth=auth,
    )


def hello(peers: Path, bodies: Path) -> Target:
    bin_ = venv("hello") / "bin"
    return Target(
        name="hello (bare ASGI)",
        command=lambda port: [str(bin_ / "uvicorn"), "app:app", "--app-dir", str(peers / "hello"), "--port",
                              str(port), "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                              "--no-access-log"],
        paths={"hello": "/predict"}, bodies={"hello": bodies / "hello.json"}, health="/predict",
    )


def seed_fastapi(peers: Path, models: Path, bodies: Path, model: str, *, endpoint: str,
                 workers: int) -> Target:
    bin_ = venv("seed_fastapi") / "bin"
    path = "/predict_threadpool" if endpoint == "def" else "/predict"
    return Target(
        name=f"seed_fastapi ({endpoint}, {workers}w)",
        command=lambda port: [str(bin_ / "uvicorn"), "app:app", "--app-dir", str(peers / "seed_fastapi"),
                              "--port", str(port), "--workers", str(workers), "--log-level", "warning",
                              "--no-access-log"],
        paths={model: path}, bodies={model: bodies / "seed.json"}, health="/health",
        env={"MODEL_PATH": str(models / f"{model}.joblib")},
    )


def litserve(peers: Path, models: Path, bodies: Path, model: str, *, batch: bool) -> Target:
    python = venv("litserve") / "bin" / "python"
    extra = ["--batch", "64", "--batch-timeout", "0.005"] if batch else []
    return Target(
        name="litserve (batch 64/5ms)" if batch else "litserve (no batching)",
        command=lambda port: [str(python), str(peers / "litserve" / "server.py"), "--port", str(port),
                              "--model-path", str(models / f"{model}.joblib"), *extra],
        paths={model: "/predict"}, bodies={model: bodies / "seed.json"}, health="/health",
    )
def mlserver(models: Path, bodies: Path) -> Target:
    bin_ = venv("mlserver") / "bin"
    repo = WORK / "mlserver"

    def prepare(port: int) -> None:
        shutil.rmtree(repo, ignore_errors=True)
        for model in ("rf", "logreg"):
            (repo / model).mkdir(parents=True)
            (repo / model / "model-settings.json").write_text(json.dumps({
                "name": model, "implementation": "mlserver_sklearn.SKLearnModel",
                "max_batch_size": 64, "max_batch_time": 0.005,
                "parameters": {"uri": str(models / f"{model}.joblib")},
            }))
        (repo / "settings.json").write_text(json.dumps({
            "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(), "host": "127.0.0.1",
        }))

    return Target(
        name="mlserver (adaptive 64/5ms)", command=lambda port: [str(bin_ / "mlserver"), "start", str(repo)],
        paths={"rf": "/v2/models/rf/infer", "logreg": "/v2/models/logreg/infer"},
        bodies={"rf": bodies / "v2_2out.json", "logreg": bodies / "v2_2out.json"},
        health="/v2/health/ready", prepare=prepare,
    )
