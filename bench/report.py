"""bench/results.md: one table per workload, ratios against every peer, and the targets."""

from __future__ import annotations

import abc
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.wrk import Result


@dataclass
class Row:
    server: str
    model: str
    connections: int
    result: Result
    rss_mb: float = 0.0


@dataclass
class Alternating(abc.ABC):
    """Two servers' runs of one workload, round by round, alternating; ``first`` over ``second``."""

    model: str
    connections: int

    @abc.abstractmethod
    def sides(self) -> tuple[list[Result], list[Result]]:
        """(first, second): the runs whose ratios are reported, in round order."""

    def ratios(self) -> list[float]:
        first, second = self.sides()
        return [a.rps / b.rps for a, b in zip(first, second, strict=False) if b.rps > 0]

    def ratio(self) -> float:
        ratios = self.ratios()
        return statistics.median(ratios) if ratios else float("nan")


@dataclass
class LogPair(Alternating):
    """One workload of the log on/off comparison."""

    on: list[Result] = field(default_factory=list)
    off: list[Result] = field(default_factory=list)

    def sides(self) -> tuple[list[Result], list[Result]]:
        return self.on, self.off


@dataclass
class CeilingPair(Alternating):
    """modelport against the bare hello app, both running."""

    mine: list[Result] = field(default_factory=list)
    hello: list[Result] = field(default_factory=list)

    def sides(self) -> tuple[list[Result], list[Result]]:
        return self.mine, self.hello


def _f(x: float, digits: int = 1) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def _best(rows: list[Row], model: str, c: int, mark: tuple[str, ...]) -> Row | None:
    peers = [r for r in rows if r.model == model and r.connections == c and r.server.startswith(mark)
             and r.result.errors >= 0]
    return max(peers, key=lambda r: r.result.rps, default=None)


def _get(rows: list[Row], server: str, model: str, c: int) -> Row | None:
    return next((r for r in rows if r.server == server and r.model == model and r.connections == c), None)


def write_report(path: Path, rows: list[Row], inproc: dict[str, float], meta: dict[str, str],
                 peer_mark: tuple[str, ...], *, log_pairs: list[LogPair] | None = None,
                 embeddings: list[dict[str, Any]] | None = None,
                 embedding_peer: dict[str, Any] | None = None,
                 ceiling: CeilingPair | None = None) -> str:
    lines = [
        "# Benchmark: modelport against its peers",
        "",
        f"Command: `{meta['command']}` (`make bench`). {meta['date']}; {meta['machine']}; "
        f"{meta['seconds']} s per measurement with `wrk -t1 -cC --latency` and a Lua POST script, "
        "single-row JSON requests of the breast_cancer data, the same rf.joblib / logreg.joblib "
        "for every server. All servers on loopback, one at a time"
        + (f" (the side-by-side comparisons: {meta['rounds']}, {meta['pair_seconds']} s per run)."
           if "rounds" in meta else "."),
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
    lines += _log_cost(log_pairs or []) + _ceiling(ceiling) + embedding_section(embeddings or [])
    lines += embedding_peer_section(embedding_peer)
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
        tutorial = _best(rows, "rf", 64, ("seed_fastapi",))
        if tutorial and tutorial.result.rps:
            ratio = rf64.result.rps / tutorial.result.rps
            met = "yes" if ratio >= 20 else "no"
            lines.append(f"| rf c=64 ≥ 20× the tutorial server (best: {tutorial.server}) | "
                         f"{ratio:.1f}× | {met} |")
        lines.append(f"| rf c=64 p99 ≤ 100 ms, 0 errors | p99 {_f(rf64.result.p99_ms, 1)} ms, "
                     f"{rf64.result.errors} errors | "
                     f"{'yes' if rf64.result.p99_ms <= 100 and rf64.result.errors == 0 else 'no'} |")
    if rf1:
        call = inproc.get("modelport runtime call", float("nan"))
        limit = 1.2 * call + 2
        lines.append(f"| rf c=1 p50 ≤ 1.2 × in-process call ({call:.2f} ms) + 2 ms = {limit:.2f} ms | "
                     f"{_f(rf1.result.p50_ms, 2)} ms | {'yes' if rf1.result.p50_ms <= limit else 'no'} |")
    if ceiling is not None and ceiling.ratios():
        share = ceiling.ratio()
        met = "yes" if share >= 0.4 else "no"
        sequential = (f"; {lr64.result.rps / hello.result.rps:.0%} from the tables above"
                      if lr64 and hello and hello.result.rps else "")
        lines.append(f"| logreg c=64 ≥ 40 % of bare hello c=64 (median of alternating rounds) | "
                     f"{share:.0%}{sequential} | {met} |")
    elif lr64 and hello and hello.result.rps:
        share = lr64.result.rps / hello.result.rps
        met = "yes" if share >= 0.4 else "no"
        lines.append(f"| logreg c=64 ≥ 40 % of bare hello c=64 | {share:.0%} | {met} |")
    if log_pairs:
        cost = _median_log_ratio(log_pairs)
        if not math.isnan(cost):
            lines.append(f"| prediction log costs < 10 % of throughput (median on/off ratio) | "
                         f"{cost:.2f} | {'yes' if cost >= 0.9 else 'no'} |")
    if embedding_peer is not None and embedding_peer.get("ratios"):
        ratio = embedding_peer["ratio"]
        lines.append(f"| MiniLM embeddings c=32 ≥ infinity-emb's req/s (median of alternating rounds) | "
                     f"{ratio:.2f}× | {'yes' if ratio >= 1 else 'no'} |")
    lines.append("")
    text = "\n".join(lines)
    path.write_text(text)
    return text


def _median_log_ratio(pairs: list[LogPair]) -> float:
    ratios = [p.ratio() for p in pairs if p.ratios()]
    return statistics.median(ratios) if ratios else float("nan")


def _log_cost(pairs: list[LogPair]) -> list[str]:
    if not pairs:
        return []
    lines = ["## Prediction log: on versus off", "",
             "The same server with `MODELPORT_PREDICTION_LOG=true` (default) and `false`, both running, "
             "each workload alternating between them (the order flips every round). The ratio of a "
             "workload is the median of its rounds' on/off ratios.", "",
             "| workload | log on req/s (median) | log off req/s (median) | on / off per round | on / off |",
             "| --- | ---: | ---: | --- | ---: |"]
    for p in pairs:
        on = statistics.median(r.rps for r in p.on) if p.on else float("nan")
        off = statistics.median(r.rps for r in p.off) if p.off else float("nan")
        rounds = ", ".join(f"{r:.2f}" for r in p.ratios())
        lines.append(f"| {p.model}, c={p.connections} | {_f(on)} | {_f(off)} | {rounds} | {p.ratio():.2f} |")
    lines += ["", f"Median on/off ratio: {_median_log_ratio(pairs):.2f}.", ""]
    return lines


def _ceiling(pair: CeilingPair | None) -> list[str]:
    if pair is None or not pair.ratios():
        return []
    mine = statistics.median(r.rps for r in pair.mine)
    hello = statistics.median(r.rps for r in pair.hello)
    rounds = ", ".join(f"{r:.0%}" for r in pair.ratios())
    return ["## modelport against the bare ASGI app, side by side", "",
            f"modelport ({pair.model}, prediction log, auth and metrics on) and the hello app, both "
            f"running, c={pair.connections}, runs alternating (the order flips every round): the "
            "tables above measure them minutes apart, and this machine's speed drifts by more than "
            "the difference being measured.", "",
            "| modelport req/s (median) | hello req/s (median) | modelport / hello per round | median |",
            "| ---: | ---: | --- | ---: |",
            f"| {_f(mine)} | {_f(hello)} | {rounds} | {pair.ratio():.0%} |", ""]


def embedding_section(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["## Embeddings: MiniLM, one sentence per request, c=32", "",
             "`/api/v1/models/{name}/embed` with adaptive batching on (32 rows / 5 ms) and off (1 row).", "",
             "| batching | req/s | p50 ms | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['batching']} | {_f(r['req_s'])} | {_f(r['p50_ms'], 2)} | {_f(r['p99_ms'], 2)} | "
                     f"{r['errors']} |")
    on = next((r for r in rows if r["batching"] == "on"), None)
    off = next((r for r in rows if r["batching"] == "off"), None)
    if on and off and off["req_s"]:
        lines += ["", f"Batching on / off: {on['req_s'] / off['req_s']:.2f}×."]
    lines.append("")
    return lines


def embedding_peer_section(peer: dict[str, Any] | None) -> list[str]:
    """modelport against infinity-emb (bench/embeddings.py), or why the peer did not run."""
    if peer is None:
        return []
    lines = ["## Embeddings against the specialist: infinity-emb, MiniLM, c=32", ""]
    if peer.get("note"):
        return lines + [f"infinity-emb was not measured: {peer['note']}", ""]
    mine, other = peer["modelport"], peer["peer"]
    rounds = ", ".join(f"{r:.2f}" for r in peer["ratios"])
    lines += [
        "Both servers up, one sentence per request (a different one each time), the same client "
        f"keeping {peer['concurrency']} requests in flight on the OpenAI route (`/v1/embeddings`; "
        f"infinity's `/embeddings`), {len(peer['ratios'])} alternating rounds of {peer['seconds']:g} s "
        "(the order flips every round). modelport: `minilm-batched` (adaptive batching, 32 rows / "
        "5 ms). infinity-emb 0.0.78: `infinity_emb v2 --engine torch --device cpu --batch-size 32`, "
        "the same MiniLM files, offline. Medians over the rounds:", "",
        "| server | req/s | p50 ms | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: |",
        f"| modelport | {_f(mine['req_s'])} | {_f(mine['p50_ms'], 2)} | {_f(mine['p99_ms'], 2)} | "
        f"{mine['errors']} |",
        f"| infinity-emb | {_f(other['req_s'])} | {_f(other['p50_ms'], 2)} | {_f(other['p99_ms'], 2)} | "
        f"{other['errors']} |",
        "", f"modelport / infinity-emb per round: {rounds}; median **{peer['ratio']:.2f}×** "
        "(goal: at least 1.00×).", "",
    ]
    return lines
