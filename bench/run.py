"""``make bench``: modelport against its peers, same models, same rows, same load generator.

Starts each server on a free loopback port, one at a time, drives it with wrk (one thread,
single-row JSON POSTs) and writes bench/results.md with req/s, p50, p99, errors and the ratios
of modelport against every peer measured in the same run. ``--quick`` for development.

    python -m bench.run [--quick] [--seconds N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import servers, wrk
from bench.report import CeilingPair, LogPair, Row, write_report

PEER_MARK = ("seed_fastapi", "litserve", "mlserver")


def make_models(peers: Path) -> tuple[Path, Path]:
    out = servers.WORK / "peer-models"
    if not (out / "models" / "rf.joblib").exists():
        subprocess.run([sys.executable, str(peers / "make_models.py"), str(out)], check=True)
    return out / "models", out / "bodies"


def in_process_ms(models: Path, bodies: Path) -> dict[str, float]:
    """Median single-row call time: sklearn as the peers call it, and modelport's runtime."""
    import joblib

    from modelport.runtime.sklearn import SklearnRuntime

    x = np.asarray([json.loads((bodies / "hello.json").read_text())["features"]], dtype=np.float64)
    model = joblib.load(models / "rf.joblib")
    runtime = SklearnRuntime(models / "rf.joblib", None, {"allow_pickle": True})
    runtime.load()

    def median_ms(fn: object, n: int = 60) -> float:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times[5:])

    return {
        "sklearn predict + predict_proba": median_ms(lambda: (model.predict(x), model.predict_proba(x))),
        "modelport runtime call": median_ms(lambda: runtime.predict({"input": x})),
    }


def targets(quick: bool, peers: Path, models: Path, bodies: Path) -> list[servers.Target]:
    mp = [servers.modelport(models, bodies)]
    if not quick:
        mp.append(servers.modelport(models, bodies, workers=2, name="modelport --workers 2"))
        mp.append(servers.modelport(models, bodies, model_workers=1,
                                    name="modelport (models in worker processes)"))
    out = [servers.hello(peers, bodies), *mp]
    seeds = [("def", 1)] if quick else [("async", 1), ("def", 1), ("def", 2)]
    for model in ("rf", "logreg"):
        for endpoint, w in seeds:
            out.append(servers.seed_fastapi(peers, models, bodies, model, endpoint=endpoint, workers=w))
        out.append(servers.litserve(peers, models, bodies, model, batch=False))
        out.append(servers.litserve(peers, models, bodies, model, batch=True))
    out.append(servers.mlserver(models, bodies))
    return out


LOG_ON = "modelport (log on, A/B)"
LOG_OFF = "modelport (log off, A/B)"


def log_ab(models: Path, bodies: Path, plan: list[tuple[str, int]], seconds: float,
           rounds: int) -> list[LogPair]:
    """The prediction log's cost: the same server with the log on and off, side by side.

    Both servers run at once (the idle one waits on its socket) and each workload alternates
    between them, ``rounds`` times, the order flipping every round, each run ``seconds`` long.
    Why: on a shared machine the load of other processes drifts by more than the
    log costs between two measurements a few minutes apart; runs seconds apart, in both orders,
    see the same machine.
    """
    on = servers.modelport(models, bodies, name=LOG_ON)
    off = servers.modelport(models, bodies, prediction_log=False, name=LOG_OFF)
    pairs: list[LogPair] = []
    print(f"== prediction log on versus off: {rounds} alternating rounds per workload", flush=True)
    try:
        for target in (on, off):
            target.start(servers.WORK / "logs")
            for model in ("rf", "logreg"):
                wrk.run(target.url(model), target.bodies[model], 16, 2, target.auth())
        for model, c in plan:
            pair = LogPair(model, c)
            for i in range(rounds):
                for target in ((on, off) if i % 2 == 0 else (off, on)):
                    result = wrk.run(target.url(model), target.bodies[model], c, seconds, target.auth())
                    (pair.on if target is on else pair.off).append(result)
            pairs.append(pair)
            print(f"   {model:7s} c={c:<3d} on/off per round: "
                  + ", ".join(f"{r:.2f}" for r in pair.ratios()), flush=True)
    finally:
        on.stop()
        off.stop()
    return pairs


def ceiling_ab(peers: Path, models: Path, bodies: Path, seconds: float, rounds: int,
               model: str = "logreg", connections: int = 64) -> CeilingPair:
    """modelport's ``model`` workload against the hello app's, both servers up, alternating.

    Why: the 40 % target is a ratio of two servers; measured minutes apart (the tables), the
    machine's drift moves it by several points. Alternating runs seconds apart, in both orders,
    see the same machine (as :func:`log_ab` does for the log).
    """
    mine = servers.modelport(models, bodies, name="modelport (side by side)")
    hello = servers.hello(peers, bodies)
    pair = CeilingPair(model, connections)
    print(f"== modelport {model} against hello, c={connections}: {rounds} alternating rounds", flush=True)
    try:
        for target in (mine, hello):
            target.start(servers.WORK / "logs")
        wrk.run(mine.url(model), mine.bodies[model], 16, 2, mine.auth())
        wrk.run(hello.url("hello"), hello.bodies["hello"], 16, 2)
        for i in range(rounds):
            for target in ((mine, hello) if i % 2 == 0 else (hello, mine)):
                if target is mine:
                    pair.mine.append(wrk.run(mine.url(model), mine.bodies[model], connections,
                                             seconds, mine.auth()))
                else:
                    pair.hello.append(wrk.run(hello.url("hello"), hello.bodies["hello"], connections,
                                              seconds))
        print("   modelport/hello per round: " + ", ".join(f"{r:.2f}" for r in pair.ratios()), flush=True)
    finally:
        mine.stop()
        hello.stop()
    return pair


def workloads(quick: bool) -> list[tuple[str, int]]:
    if quick:
        return [("hello", 64), ("rf", 1), ("rf", 64), ("logreg", 64)]
    return [(m, c) for m in ("hello", "rf", "logreg") for c in (1, 16, 64)]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer configurations, shorter runs")
    ap.add_argument("--seconds", type=float, default=None, help="duration of each measurement")
    ap.add_argument("--only", nargs="*", default=None,
                    help="run only targets whose name contains one of these")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results.md"))
    ap.add_argument("--log-rounds", type=int, default=6,
                    help="alternating rounds per workload of the log on/off comparison")
    ap.add_argument("--ceiling-rounds", type=int, default=10,
                    help="alternating rounds of modelport's logreg c=64 against the hello app")
    ap.add_argument("--pair-seconds", type=float, default=None,
                    help="length of each run of the side-by-side comparisons (3 s; 2 s with --quick)")
    ap.add_argument("--no-embeddings", action="store_true", help="skip the MiniLM embeddings workload")
    ap.add_argument("--embedding-rounds", type=int, default=6,
                    help="alternating rounds of modelport against infinity-emb (MiniLM, c=32)")
    args = ap.parse_args()
    seconds = args.seconds or (4.0 if args.quick else 15.0)
    wrk.ensure_wrk()
    peers = servers.shared_peers()
    models, bodies = make_models(peers)
    inproc = in_process_ms(models, bodies)
    print("in-process single-row call (ms):", {k: round(v, 2) for k, v in inproc.items()}, flush=True)
    load_before = loadavg()
    rows: list[Row] = []
    plan = workloads(args.quick)
    for target in targets(args.quick, peers, models, bodies):
        if args.only and not any(o in target.name for o in args.only):
            continue
        mine = [(m, c) for m, c in plan if m in target.paths]
        if not mine:
            continue
        print(f"== {target.name}: starting", flush=True)
        try:
            target.start(servers.WORK / "logs")
        except Exception as exc:  # a peer that cannot start is reported, not fatal
            print(f"   {target.name} failed to start: {exc}", flush=True)
            rows.extend(Row(target.name, m, c, wrk.Result.failed()) for m, c in mine)
            continue
        try:
            auth = target.auth()
            for model in {m for m, _ in mine}:  # warm up: first calls, lazy imports, batch paths
                wrk.run(target.url(model), target.bodies[model], 16, 2, auth)
            for model, c in mine:
                result = wrk.run(target.url(model), target.bodies[model], c, seconds, auth)
                rows.append(Row(target.name, model, c, result, rss_mb=target.rss_mb()))
                print(f"   {model:7s} c={c:<3d} {result.rps:9.1f} req/s  p50 {result.p50_ms:8.2f} ms  "
                      f"p99 {result.p99_ms:8.2f} ms  errors {result.errors}", flush=True)
        finally:
            target.stop()
    # side by side: many short alternating runs, since a ratio's noise falls with the rounds and
    # this machine's speed drifts within seconds (one run of a round is as long as wrk needs
    # for a stable rate, not a share of --seconds)
    pair_seconds = args.pair_seconds or (2.0 if args.quick else 3.0)
    pairs: list[LogPair] = []
    if not args.only or any("log" in o for o in args.only):
        pairs = log_ab(models, bodies, [(m, c) for m, c in plan if m != "hello"], pair_seconds,
                       rounds=args.log_rounds)
    ceiling: CeilingPair | None = None
    if not args.only or any(o in ("hello", "ceiling") for o in args.only):
        ceiling = ceiling_ab(peers, models, bodies, pair_seconds, rounds=args.ceiling_rounds)
    meta = {
        "command": "python -m bench.run" + (" --quick" if args.quick else "") +
                   (f" --seconds {args.seconds:g}" if args.seconds else ""),
        "rounds": f"{args.log_rounds} rounds per log workload, {args.ceiling_rounds} against hello",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load": f"load average before {load_before}, after {loadavg()}",
        "seconds": f"{seconds:g}",
        "pair_seconds": f"{pair_seconds:g}",
    }
    embeddings: list[dict[str, Any]] = []
    embedding_peer: dict[str, Any] | None = None
    if not args.no_embeddings and (not args.only or any("embed" in o for o in args.only)):
        embeddings, embedding_peer = run_embeddings(seconds, args.embedding_rounds,
                                                    4.0 if args.quick else 10.0)
    text = write_report(args.out, rows, inproc, meta, PEER_MARK, log_pairs=pairs, embeddings=embeddings,
                        embedding_peer=embedding_peer, ceiling=ceiling)
    print(text)
    # --- bring your own model (#18): worker memory, 1 vs 2 workers of one forest (bench/worker_memory.py)
    subprocess.run([sys.executable, "-m", "bench.worker_memory"], check=False)


def run_embeddings(seconds: float, rounds: int,
                   pair_seconds: float) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """MiniLM, one sentence per request at concurrency 32: adaptive batching on and off, then
    modelport against infinity-emb in alternating rounds (bench/embeddings.py)."""
    try:
        import sentence_transformers  # noqa: F401

        from bench import embeddings
    except ImportError as exc:
        print(f"== embeddings: skipped ({exc.name} not installed: the [text] extra)", flush=True)
        return [], None
    print("== embeddings (MiniLM, c=32): starting", flush=True)
    rows, peer = embeddings.run(seconds=seconds, concurrency=32, rounds=rounds, pair_seconds=pair_seconds)
    for r in rows:
        print(f"   batching {r['batching']:3s} {r['req_s']:9.1f} req/s  p50 {r['p50_ms']:8.2f} ms  "
              f"p99 {r['p99_ms']:8.2f} ms  errors {r['errors']}", flush=True)
    return rows, peer


if __name__ == "__main__":
    main()
