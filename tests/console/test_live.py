"""Live series: requests/s, p50/p99 and errors per version, bucketed from prediction-log rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modelport.console.live import series

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def row(seconds_ago: float, version: Any, latency: float, status: str = "ok") -> dict[str, Any]:
    when = datetime.fromtimestamp(NOW - seconds_ago, tz=UTC).isoformat()
    return {"time": when, "version": version, "latency_ms": latency, "status": status}


def test_rows_are_bucketed_per_version() -> None:
    rows = [row(5, 1, 10.0), row(6, 1, 20.0), row(7, 1, 30.0), row(8, 1, 1000.0, "error"),
            row(65, 2, 5.0), row(61, 2, 7.0), row(4000, 1, 1.0)]  # the last is outside the window
    out = series(rows, NOW, minutes=2, bucket_s=30)
    assert len(out["labels"]) == 4 and out["bucket_s"] == 30
    v1, v2 = out["versions"]["1"], out["versions"]["2"]
    assert v1["rps"] == [0.0, 0.0, 0.0, round(4 / 30, 3)]
    assert v1["errors"] == [0, 0, 0, 1]
    assert v1["p50"][-1] == 25.0 and v1["p99"][-1] > 900 and v1["p50"][0] is None
    assert v2["rps"] == [0.0, round(2 / 30, 3), 0.0, 0.0] and v2["p50"][1] == 6.0  # 90..60 s ago


def test_unusable_rows_are_skipped() -> None:
    rows = [{"time": "garbage", "version": 1}, {"time": None, "version": 1}, row(5, None, 1.0)]
    assert series(rows, NOW, minutes=1, bucket_s=15)["versions"] == {}
