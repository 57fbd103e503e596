"""This tree against an earlier commit of modelport, side by side: the same models and load.

Why: a ratio measured minutes apart on this shared machine says more about the neighbours than
about the code. Both servers run at once (the earlier commit from a git worktree, on this
virtualenv), and wrk drives the rf and logreg predict routes at 64 connections, alternating
server by server within each round, so a noisy minute hits both alike. Writes the table, the
medians and the ratios to ``bench/versus.md`` (or ``--out``).

    python -m bench.versus --ref e1e4c07 [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import servers, wrk
from bench.run import make_models

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("rf", "logreg")


def checkout(ref: str) -> tuple[Path, str]:
    """A worktree of ``ref`` under the bench's work directory (made once per commit)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], check=True,
                         capture_output=True, text=True).stdout.strip()
    path = servers.WORK / f"ref-{sha}"
    if not (path / "src" / "modelport").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(path), sha],
                       check=True, capture_output=True)
    return path, sha


def targets(models: Path, bodies: Path, ref_tree: Path, sha: str) -> dict[str, servers.Target]:
    here = servers.modelport(models, bodies, name="versus-this-tree")
    before = servers.modelport(models, bodies, name=f"versus-{sha}")
    cli = [sys.executable, "-c", "from modelport.cli import main; main()"]
    env = {**before.env, "PYTHONPATH": str(ref_tree / "src")}
    home = Path(env["MODELPORT_HOME"])

    def prepare(port: int) -> None:  # the models, registered by the earlier commit's own CLI
        shutil.rmtree(home, ignore_errors=True)
        for model in WORKLOADS:
            subprocess.run([*cli, "models", "register", str(models / f"{model}.joblib"), "--name", model,
                            "--alias", "production"], env={**os.environ, **env}, check=True,
                           capture_output=True)

    earlier = dataclasses.replace(
        before, env=env, prepare=prepare,
        command=lambda port: [*cli, "serve", "--port", str(port), "--workers", "1"],
    )
    return {f"{sha} (before)": earlier, "this tree": here}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "versus.md")
    args = parser.parse_args()
    models, bodies = make_models(servers.shared_peers())
    ref_tree, sha = checkout(args.ref)
    runs = targets(models, bodies, ref_tree, sha)
    logs = servers.WORK / "logs-versus"
    results: dict[tuple[str, str], list[wrk.Result]] = {(n, w): [] for n in runs for w in WORKLOADS}
    for target in runs.values():
        target.start(logs)
    try:
        for target in runs.values():  # warm-up
            for workload in WORKLOADS:
                wrk.run(target.url(workload), target.bodies[workload], 64, 2, auth=target.auth())
        for _ in range(args.rounds):
            for workload in WORKLOADS:
                for name, target in runs.items():
                    results[(name, workload)].append(wrk.run(
                        target.url(workload), target.bodies[workload], 64, args.seconds, auth=target.auth()))
    finally:
        for target in runs.values():
            target.stop()
    command = f"python -m bench.versus --ref {args.ref} --rounds {args.rounds} --seconds {args.seconds:g}"
    lines = [
        "# This tree against an earlier commit, side by side",
        "",
        f"`{command}` at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: wrk -t1 -c64, single-row predicts, "
        f"{args.rounds} rounds of {args.seconds:g} s, the servers alternating within each round "
        "(prediction log on, cache off, one worker process each).",
        "",
        "| workload | server | req/s per round | median req/s | median p50 ms | median p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    medians: dict[tuple[str, str], float] = {}
    for (name, workload), rounds in results.items():
        medians[(name, workload)] = statistics.median(r.rps for r in rounds)
        lines.append(
            f"| {workload} | {name} | {', '.join(f'{r.rps:,.0f}' for r in rounds)} "
            f"| {medians[(name, workload)]:,.0f} | {statistics.median(r.p50_ms for r in rounds):.2f} "
            f"| {statistics.median(r.p99_ms for r in rounds):.2f} | {sum(r.errors for r in rounds)} |")
    before, after = runs
    lines.append("")
    for workload in WORKLOADS:
        pairs = zip(results[(after, workload)], results[(before, workload)], strict=True)
        ratios = [a.rps / b.rps for a, b in pairs if b.rps]
        lines.append(f"- {workload} c=64: this tree / {before} = **{statistics.median(ratios):.2f}** "
                     f"(median of per-round ratios: {', '.join(f'{r:.2f}' for r in ratios)})")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
