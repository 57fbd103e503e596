"""Helpers for job tests: wait for a job, start a real ``modelport worker`` subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
DONE = ("succeeded", "failed", "cancelled")
IRIS_TRAIN = {"dataset": "builtin:iris", "estimator": "RandomForestClassifier",
              "hyperparameters": {"n_estimators": 10}, "register_as": {"name": "iris-rf"}}


def slow_train(name: str, n_estimators: int = 700) -> dict[str, Any]:
    """A training job that takes a few seconds (gradient boosting, many stages)."""
    return {"dataset": "builtin:breast_cancer", "estimator": "GradientBoostingClassifier",
            "hyperparameters": {"n_estimators": n_estimators, "max_depth": 3},
            "register_as": {"name": name}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_job(client: httpx.AsyncClient, job_id: str, states: tuple[str, ...] = DONE,
                   timeout: float = 90.0, seen: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/api/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        if seen is not None:
            seen.append((job["state"], job["progress"]))
        if job["state"] in states:
            return job
        if job["state"] in DONE:
            raise AssertionError(f"job ended {job['state']} while waiting for {states}: {job}")
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['state']} after {timeout}s: {job}")
        await asyncio.sleep(0.05)


def owner_pid(job: dict[str, Any], lease_owner: str) -> int:
    return int(lease_owner.split(":")[1])


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill_all(self) -> None:
        """kill -9 of the whole worker: the main process, its pool and its reaper."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill_all()


def worker_env(**settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    for key, value in settings.items():
        env[f"MODELPORT_{key.upper()}"] = str(value)
    return env


def start_worker(tmp: Path, env: dict[str, str], concurrency: int = 1) -> Worker:
    name = f"w{uuid.uuid4().hex[:6]}"
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from modelport.cli import main; main()", "worker",
             f"--concurrency={concurrency}", f"--hostname={name}@%h", "--loglevel=INFO"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp,
        )
    return Worker(name=name, process=process, log=log)


async def wait_ready(*workers: Worker, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(workers)
    while pending:
        for w in list(pending):
            if " ready." in w.output():
                pending.remove(w)
            elif w.process.poll() is not None:
                raise AssertionError(f"worker {w.name} exited:\n{w.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"workers not ready: {[w.output()[-2000:] for w in pending]}")
        await asyncio.sleep(0.2)


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])
