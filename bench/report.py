"""bench/results.md: one table per workload, ratios against every peer, and the targets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.wrk import Result


@dataclass
class Row:
    server: str
    model: str
    connections: int
    result: Result
    rss_mb: float = 0.0


def _f(x: float, digits: int = 1) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def _best(rows: list[Row], model: str, c: int, mark: tuple[str, ...]) -> Row | None:
    peers = [r for r in rows if r.model == model and r.connections == c and r.server.startswith(mark)
             and r.result.errors >= 0]
    return max(peers, key=lambda r: r.result.rps, default=None)


def _get(rows: list[Row], server: str, model: str, c: int) -> Row | None:
    return next((r for r in rows if r.server == server and r.model == model and r.connections == c), None)


def write_report(path: Path, rows: list[Row], inproc: dict[str, float], meta: dict[str, str],
                 peer_mark: tuple[str, ...]) -> str:
    lines = [
        "# Benchmark: modelport against its peers",
        "",
        f"Command: `{meta['command']}` (`make bench`). {meta['date']}; {meta['machine']}; "
        f"{meta['seconds']} s per measurement with `wrk -t1 -cC --latency` and a Lua POST script, "
        "single-row JSON requests of the breast_cancer data, the same rf.joblib / logreg.joblib "
        "for every server. All servers on loopback, one at a time.",
        "",
        f"Machine load during the run: {meta['load']}. **Numbers from a shared, loaded machine are noisy:** "
        "compare ratios measured side by side in the same run.",
        "",
        "In-process single-row rf call (median): " +
        "; ".join(f"{k} {v:.2f} ms" for k, v in inproc.items()) + ".",
        "",
    ]
    mp = "modelport"
    for model, c in sorted({(r.model, r.connections) for r in rows}, key=lambda k: (k[0] != "hello", k)):
        group = [r for r in rows if r.model == model and r.connections == c]
        mine = _get(rows, mp, model, c)
        lines += [f"## {model}, c={c}", "",
                  "| server | req/s | p50 ms | p99 ms | errors | modelport × | RSS MB |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in sorted(group, key=lambda r: -r.result.rps):
            ratio = (mine.result.rps / r.result.rps) if mine and r.result.rps else float("nan")
            errors = "failed" if r.result.errors < 0 else str(r.result.errors)
            lines.append(f"| {r.server} | {_f(r.result.rps)} | {_f(r.result.p50_ms, 2)} | "
                         f"{_f(r.result.p99_ms, 2)} | {errors} | {_f(ratio, 2)} | {_f(r.rss_mb, 0)} |")
        lines.append("")
    lines += ["## Targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    rf64, rf1, lr64 = _get(rows, mp, "rf", 64), _get(rows, mp, "rf", 1), _get(rows, mp, "logreg", 64)
    best = _best(rows, "rf", 64, peer_mark)
    hello = _get(rows, "hello (bare ASGI)", "hello", 64)
    if rf64:
        ok = rf64.result.rps >= 2000
        lines.append(f"| rf c=64 ≥ 2,000 req/s | {_f(rf64.result.rps)} req/s | {'yes' if ok else 'no'} |")
        if best and best.result.rps:
            ratio = rf64.result.rps / best.result.rps
            met = "yes" if ratio >= 2 else "no"
            lines.append(f"| rf c=64 ≥ 2× best peer ({best.server}) | {ratio:.2f}× | {met} |")
        lines.append(f"| rf c=64 p99 ≤ 100 ms, 0 errors | p99 {_f(rf64.result.p99_ms, 1)} ms, "
                     f"{rf64.result.errors} errors | "
                     f"{'yes' if rf64.result.p99_ms <= 100 and rf64.result.errors == 0 else 'no'} |")
    if rf1:
        call = inproc.get("modelport runtime call", float("nan"))
        limit = 1.2 * call + 2
        lines.append(f"| rf c=1 p50 ≤ 1.2 × in-process call ({call:.2f} ms) + 2 ms = {limit:.2f} ms | "
                     f"{_f(rf1.result.p50_ms, 2)} ms | {'yes' if rf1.result.p50_ms <= limit else 'no'} |")
    if lr64 and hello and hello.result.rps:
        share = lr64.result.rps / hello.result.rps
        met = "yes" if share >= 0.4 else "no"
        lines.append(f"| logreg c=64 ≥ 40 % of bare hello c=64 | {share:.0%} | {met} |")
    lines.append("")
    text = "\n".join(lines)
    path.write_text(text)
    return text
