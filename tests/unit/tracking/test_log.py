"""The recorder on its own: spill when the insert fails, replay after, drop only when the disk fails."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from modelport.observability.metrics import Metrics
from modelport.storage import migrate
from modelport.storage.engine import make_engine
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.records import PredictionRecord, now
from modelport.tracking.spill import SpillStore


def rec(i: int) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r{i}", ts=now(), model="m", version=1, alias=None, principal="p", protocol="rest",
        error_code=None, rows=1, latency_ms=1.0, cached=False, inputs={"input": np.ones((1, 2)) * i},
        outputs={"predictions": np.array([i])}, capture="full", capture_max_bytes=10_000,
    )


def value(metrics: Metrics, outcome: str) -> float:
    return float(metrics.log_rows.labels(outcome)._value.get())


async def test_close_spills_when_the_table_is_missing_then_replays(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    metrics = Metrics()
    spill = SpillStore(tmp_path / "spill")
    recorder = PredictionRecorder(engine, metrics, spill, flush_interval=60)
    await recorder.start()
    for i in range(5):
        recorder.record(rec(i))
    await recorder.close()  # no tables yet: the insert fails, the rows go to disk
    assert value(metrics, "spilled") == 5 and value(metrics, "dropped") == 0
    assert len(list((tmp_path / "spill").glob("predictions-*.jsonl"))) == 1

    await migrate.upgrade(engine)
    second = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    await second.start()
    await second.close()  # a new process picks the file up and replays it
    assert value(metrics, "replayed") == 5 and value(metrics, "written") == 5
    assert not list((tmp_path / "spill").glob("predictions-*.jsonl"))
    await engine.dispose()


async def test_rows_are_dropped_loudly_only_when_the_disk_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the spill directory should be")
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(blocked / "spill"), flush_interval=60)
    recorder.record(rec(1))
    with caplog.at_level(logging.CRITICAL):
        await recorder.close()
    assert value(metrics, "dropped") == 1
    assert any("DROPPED" in r.message for r in caplog.records if r.levelno == logging.CRITICAL)
    await engine.dispose()


async def test_disabled_recorder_buffers_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    recorder = PredictionRecorder(engine, Metrics(), SpillStore(tmp_path / "s"), enabled=False)
    recorder.record(rec(1))
    assert recorder.buffered == 0
    await engine.dispose()
