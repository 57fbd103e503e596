"""Per-version live series (requests/s, p50/p99 latency, errors) from prediction-log rows.

The model page's charts poll these; the rows come from ``GET /api/v1/predictions`` (the last
minutes, newest first), bucketed here so the browser only draws.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np


def _when(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def series(items: list[dict[str, Any]], now: float, minutes: int, bucket_s: int) -> dict[str, Any]:
    """Buckets of ``bucket_s`` seconds ending at ``now``; a version with no rows is absent."""
    n = max(1, minutes * 60 // bucket_s)
    start = now - n * bucket_s
    latencies: dict[int, list[list[float]]] = defaultdict(lambda: [[] for _ in range(n)])
    errors: dict[int, list[int]] = defaultdict(lambda: [0] * n)
    for item in items:
        ts, version = _when(item.get("time")), item.get("version")
        if ts is None or not isinstance(version, int) or not start <= ts < now:
            continue
        i = min(n - 1, int((ts - start) // bucket_s))
        latencies[version][i].append(float(item.get("latency_ms") or 0.0))
        if item.get("status") != "ok":
            errors[version][i] += 1

    def pct(values: list[float], q: float) -> float | None:
        return round(float(np.percentile(values, q)), 3) if values else None

    out = {}
    for version in sorted(latencies):
        buckets = latencies[version]
        out[str(version)] = {
            "rps": [round(len(b) / bucket_s, 3) for b in buckets],
            "p50": [pct(b, 50) for b in buckets],
            "p99": [pct(b, 99) for b in buckets],
            "errors": errors[version],
        }
    labels = [datetime.fromtimestamp(start + (i + 1) * bucket_s).strftime("%H:%M:%S") for i in range(n)]
    return {"labels": labels, "bucket_s": bucket_s, "versions": out}
