"""``make soak``: a real ``modelport serve`` under mixed load for minutes, watched for leaks (#17).

A leak shows over minutes, not in a test: memory that grows with every request, descriptors never
closed, a latency that creeps up. This starts a server (demo models with the text ones, in a
temporary home, on a free loopback port) and runs three loads at once:

- predict: single-row iris predictions, ``--predict-rate`` a second;
- chat: streamed OpenAI chat completions from the demo ``tiny-chat``, ``--chat-rate`` a second;
- jobs: batch-predict jobs on ``builtin:iris`` one after the other (every fifth a training job
  that registers a new version), each polled until it finishes.

Every ``--interval`` seconds it prints the server's RSS and open file descriptors (summed over
its processes) and, per load, requests, errors and p99 latency in that interval; at the end the
growth of RSS and descriptors from the first interval to the last. Exit status 1 if any request
failed (a status >= 500, a transport error, a failed job).

    python -m bench.soak [--seconds 300] [--interval 60] [--predict-rate 40] [--chat-rate 1]

``SOAK_SECONDS`` and ``SOAK_INTERVAL_S`` set the defaults of ``--seconds`` and ``--interval``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

MIB = 1024 * 1024
KINDS = ("predict", "chat", "job")
ROW = {"features": [5.1, 3.5, 1.4, 0.2]}
CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 24,
        "stream": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def process_tree(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo and len(out) < 1000:
        current = todo.pop()
        out.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    todo.extend(int(c) for c in (task / "children").read_text().split())
    return out


def rss_and_fds(pid: int) -> tuple[int, int]:
    """RSS in bytes and open descriptors, summed over the server's processes (as they are now:
    Granian's workers and model worker processes come and go)."""
    rss = fds = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
            fds += sum(1 for _ in Path(f"/proc/{p}/fd").iterdir())
    return rss, fds


@dataclass
class Window:
    """What one load did in the current interval."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def line(self) -> str:
        if not self.latencies:
            return f"{0:>6} {self.errors:>4} {'-':>8}"
        p99 = float(np.percentile(np.array(self.latencies), 99)) * 1000
        return f"{len(self.latencies):>6} {self.errors:>4} {p99:>8.1f}"


@dataclass
class Stats:
    windows: dict[str, Window] = field(default_factory=lambda: {k: Window() for k in KINDS})
    errors_total: int = 0
    samples: list[str] = field(default_factory=list)  # first few error messages

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        window = self.windows[kind]
        window.latencies.append(seconds)
        if not ok:
            window.errors += 1
            self.errors_total += 1
            if len(self.samples) < 5:
                self.samples.append(f"{kind}: {detail[:200]}")

    def take(self) -> dict[str, Window]:
        out, self.windows = self.windows, {k: Window() for k in self.windows}
        return out


async def paced(rate: float, until: float, call: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``rate`` calls a second until ``until`` (monotonic), each on its own task, at most 256 in
    flight (a stalled server is then seen as a lower count, not an unbounded pile of tasks)."""
    tasks: set[asyncio.Task[None]] = set()
    start, i = time.monotonic(), 0
    while time.monotonic() < until:
        if len(tasks) < 256:
            task = asyncio.create_task(call())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        i += 1
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
    if tasks:
        await asyncio.wait(tasks, timeout=60)


async def predict_once(http: httpx.AsyncClient, stats: Stats) -> None:
    started = time.perf_counter()
    try:
        r = await http.post("/api/v1/models/iris/predict", json=ROW)
        ok, detail = r.status_code == 200, f"{r.status_code} {r.text}"
    except httpx.HTTPError as exc:
        ok, detail = False, repr(exc)
    stats.record("predict", time.perf_counter() - started, ok, detail)


async def chat_once(http: httpx.AsyncClient, stats: Stats) -> None:
    started = time.perf_counter()
    try:
        async with http.stream("POST", "/v1/chat/completions", json=CHAT) as r:
            done = False
            async for line in r.aiter_lines():
                done = done or line == "data: [DONE]"
            ok, detail = r.status_code == 200 and done, f"{r.status_code}, [DONE] seen: {done}"
    except httpx.HTTPError as exc:
        ok, detail = False, repr(exc)
    stats.record("chat", time.perf_counter() - started, ok, detail)


async def jobs_loop(http: httpx.AsyncClient, stats: Stats, until: float) -> None:
    """One job at a time, submitted and polled (every 0.25 s) until it finishes."""
    n = 0
    while time.monotonic() < until:
        n += 1
        if n % 5 == 0:
            body: dict[str, object] = {
                "dataset": "builtin:iris", "estimator": "LogisticRegression",
                "hyperparameters": {"max_iter": 200}, "register_as": {"name": "soak-iris"}}
            path = "/api/v1/jobs/train"
        else:
            body, path = {"model": "iris", "dataset": "builtin:iris"}, "/api/v1/jobs/batch-predict"
        started = time.perf_counter()
        try:
            r = await http.post(path, json=body)
            if r.status_code != 202:
                stats.record("job", time.perf_counter() - started, False, f"{r.status_code} {r.text}")
                await asyncio.sleep(1)
                continue
            job_id, state = r.json()["job_id"], "queued"
            deadline = time.monotonic() + 120
            while state in ("queued", "running") and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                state = (await http.get(f"/api/v1/jobs/{job_id}")).json()["state"]
            stats.record("job", time.perf_counter() - started, state == "succeeded", f"{job_id} {state}")
        except httpx.HTTPError as exc:
            stats.record("job", time.perf_counter() - started, False, repr(exc))


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MODELPORT_HOME": str(home), "MODELPORT_PORT": str(port),
           "MODELPORT_GRPC_ENABLED": "false", "MODELPORT_LOG_FORMAT": "json",
           "MODELPORT_RATE_LIMIT": "1000000/minute", "MODELPORT_DEMO_TEXT_MODELS": "true"}
    home.mkdir(parents=True, exist_ok=True)
    with (home / "serve.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "modelport.cli", "serve"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(proc: subprocess.Popen[bytes], url: str, home: Path, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (home / "serve.log").read_text()[-3000:]
            raise SystemExit(f"the server exited {proc.returncode}:\n{log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready in {timeout_s:.0f} s")


async def soak(url: str, key: str, pid: int, args: argparse.Namespace) -> int:
    stats = Stats()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    print(f"{'t_s':>5} {'rss_mib':>8} {'fds':>5} | {'predict':>6} {'err':>4} {'p99_ms':>8} | "
          f"{'chat':>6} {'err':>4} {'p99_ms':>8} | {'jobs':>6} {'err':>4} {'p99_ms':>8}", flush=True)
    rows: list[tuple[int, int]] = []
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=60, limits=limits) as http:
        started = time.monotonic()
        until = started + args.seconds
        loads = [
            asyncio.create_task(paced(args.predict_rate, until, lambda: predict_once(http, stats))),
            asyncio.create_task(paced(args.chat_rate, until, lambda: chat_once(http, stats))),
            asyncio.create_task(jobs_loop(http, stats, until)),
        ]
        tick = started
        while not all(t.done() for t in loads):
            tick += args.interval
            await asyncio.wait(loads, timeout=max(0.0, tick - time.monotonic()))
            rss, fds = rss_and_fds(pid)
            rows.append((rss, fds))
            w = stats.take()
            print(f"{time.monotonic() - started:>5.0f} {rss / MIB:>8.1f} {fds:>5} | {w['predict'].line()} | "
                  f"{w['chat'].line()} | {w['job'].line()}", flush=True)
        for task in loads:
            task.result()
    first, last = rows[0], rows[-1]
    print(f"RSS {first[0] / MIB:.1f} -> {last[0] / MIB:.1f} MiB ({(last[0] - first[0]) / MIB:+.1f}), "
          f"open descriptors {first[1]} -> {last[1]} ({last[1] - first[1]:+d}), "
          f"failed requests {stats.errors_total}", flush=True)
    for sample in stats.samples:
        print(f"  e.g. {sample}")
    return 1 if stats.errors_total else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "300")))
    parser.add_argument("--interval", type=float, default=float(os.environ.get("SOAK_INTERVAL_S", "60")))
    parser.add_argument("--predict-rate", type=float, default=40.0, help="predictions a second")
    parser.add_argument("--chat-rate", type=float, default=1.0, help="streamed chat completions a second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelport-soak-") as tmp:
        home, port = Path(tmp) / "home", free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(home, port)
        try:
            print(f"starting modelport serve on {url} (home {home}) ...", flush=True)
            wait_ready(proc, url, home)
            key = (home / "admin.key").read_text().strip()
            status = asyncio.run(soak(url, key, proc.pid, args))
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
    raise SystemExit(status)


if __name__ == "__main__":
    main()
