"""Which ASGI server runs modelport: the same app under each candidate, measured side by side.

Each candidate serves ``modelport.server:factory`` (the app ``modelport serve`` builds) on its
own loopback port, with the limits modelport configures (header and keep-alive timeouts, header
size); wrk drives the logreg predict route at 64 connections, alternating the servers round by
round so that a noisy neighbour hits both alike. Prints one table (req/s, p50, p99 per round and
the median).

    python -m bench.server_choice [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

from bench import servers, wrk
from bench.run import make_models

BIN = Path(sys.executable).parent
FACTORY = "modelport.server:factory"


def candidates(models: Path, bodies: Path) -> dict[str, servers.Target]:
    base = servers.modelport(models, bodies, name="server-choice")
    return {
        "uvicorn (httptools, uvloop)": dataclasses.replace(base, command=lambda port: [
            str(BIN / "uvicorn"), FACTORY, "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-server-header",
            "--log-level", "warning", "--limit-concurrency", "10000", "--timeout-keep-alive", "5"]),
        "granian (asgi, uvloop)": dataclasses.replace(base, command=lambda port: [
            str(BIN / "granian"), FACTORY, "--factory", "--interface", "asgi", "--host", "127.0.0.1",
            "--port", str(port), "--loop", "uvloop", "--http", "1", "--no-ws", "--log-level", "warning",
            "--http1-header-read-timeout", "10000", "--http1-buffer-size", str(64 * 1024),
            "--backpressure", "10000"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    models, bodies = make_models(servers.shared_peers())
    targets = candidates(models, bodies)
    logs = servers.WORK / "logs-server-choice"
    results: dict[str, list[wrk.Result]] = {name: [] for name in targets}
    register = next(iter(targets.values())).prepare
    if register is not None:
        register(0)  # the models once: every candidate serves the same home
    for target in targets.values():
        target.prepare = None
        target.start(logs)
    try:
        for target in targets.values():  # warm-up
            wrk.run(target.url("logreg"), target.bodies["logreg"], 64, 2, auth=target.auth())
        for _ in range(args.rounds):
            for name, target in targets.items():
                results[name].append(wrk.run(target.url("logreg"), target.bodies["logreg"], 64, args.seconds,
                                             auth=target.auth()))
    finally:
        for target in targets.values():
            target.stop()
    print(f"logreg predict, wrk -t1 -c64, {args.rounds} alternating rounds of {args.seconds:.0f} s")
    print("| server | req/s per round | median req/s | median p50 ms | median p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, rounds in results.items():
        print(f"| {name} | {', '.join(f'{r.rps:,.0f}' for r in rounds)} "
              f"| {statistics.median(r.rps for r in rounds):,.0f} "
              f"| {statistics.median(r.p50_ms for r in rounds):.2f} "
              f"| {statistics.median(r.p99_ms for r in rounds):.2f} | {sum(r.errors for r in rounds)} |")


if __name__ == "__main__":
    main()
