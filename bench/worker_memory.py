"""Memory of worker processes for one forest: 1 worker vs 2 (started each, or forked from a zygote).

``python -m bench.worker_memory`` (``make bench`` runs it too) trains a random forest, serves it
with ``ProcessRunner`` the way ``config.workers`` does, sends a few batches, and sums each
mode's memory over all its processes and the fork server they start from (it holds the imported
libraries they share). PSS (proportional set size, from ``/proc/<pid>/smaps_rollup``) is the
honest total: a page shared by two processes counts half in each. RSS counts shared pages in full
in every process, so it is printed too, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def memory_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            out[key.lower()] = int(rest.split()[0])
    return out


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2:].split()[1])


def train_forest(dest: Path, trees: int) -> tuple[Path, np.ndarray[Any, Any]]:
    import skops.io as sio
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    x, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=trees, random_state=0).fit(x, y)
    path = dest / "forest.skops"
    sio.dump(forest, path)
    return path, x


async def measure(artifact: Path, x: np.ndarray[Any, Any], workers: int, share: bool) -> dict[str, Any]:
    from modelport.runtime.registry import FLAVORS
    from modelport.runtime.sklearn import SklearnRuntime
    from modelport.runtime.workers import ProcessRunner, WorkerSpec

    probe = SklearnRuntime(artifact)
    probe.load()
    spec = WorkerSpec(target=FLAVORS["sklearn"], artifact=str(artifact),
                      signature_json=probe.infer_signature().model_dump_json(), options={},
                      label=f"bench-{workers}-{share}", share=share)
    runner = ProcessRunner(spec, workers)
    await runner.start()
    try:
        for _ in range(3):  # every worker answers a few batches, so the memory is the serving one
            results = await asyncio.gather(*(runner.run({"input": x[i::workers]}) for i in range(workers)))
            assert all(len(r["predictions"]) for r in results)
        pids = runner.all_pids()
        # the fork server the workers (or the zygote) started from: its imports are shared with them
        fork_server = {parent_pid(pid) for pid in pids} - set(pids) - {os.getpid()}
        totals = {"rss": 0, "pss": 0}
        for pid in [*pids, *fork_server]:
            for key, value in memory_kb(pid).items():
                totals[key] += value
    finally:
        await runner.close()
    return {"workers": workers, "shared": share, "processes": len(pids),
            "rss_mb": round(totals["rss"] / 1024, 1), "pss_mb": round(totals["pss"] / 1024, 1)}


async def run(trees: int = 300) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        artifact, x = train_forest(Path(tmp), trees)
        size_mb = round(artifact.stat().st_size / 1e6, 1)
        rows = [await measure(artifact, x, 1, False), await measure(artifact, x, 2, False),
                await measure(artifact, x, 2, True)]
    for row in rows:
        row["artifact_mb"] = size_mb
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=300)
    args = parser.parse_args()
    rows = asyncio.run(run(args.trees))
    print(f"forest artifact: {rows[0]['artifact_mb']} MB")
    print(f"{'workers':>8} {'mode':>16} {'processes':>10} {'RSS MB':>9} {'PSS MB':>9}")
    for row in rows:
        mode = "zygote + fork" if row["shared"] else "one each"
        print(f"{row['workers']:>8} {mode:>16} {row['processes']:>10} {row['rss_mb']:>9} {row['pss_mb']:>9}")
    one, shared = rows[0]["pss_mb"], rows[2]["pss_mb"]
    print(f"2 shared workers / 1 worker (PSS): {shared / one:.2f}x")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
