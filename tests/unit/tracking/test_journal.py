"""The journal: a row is on disk when ``record`` returns, the flush trims it, start-up replays
what a killed process left exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.observability.metrics import Metrics
from modelport.storage import migrate
from modelport.storage.engine import make_engine
from modelport.tracking.journal import Journal
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.records import PredictionRecord, now, row_from_json
from modelport.tracking.spill import SpillStore
from modelport.tracking.tables import PredictionRow


def rec(i: int) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r{i}", ts=now(), model="m\x00", version=1, alias=None, principal="p",
        protocol="rest", error_code=None, rows=1, latency_ms=1.0, cached=False,
        inputs={"input": np.ones((1, 2)) * i}, outputs={"predictions": np.array([i])},
        capture="full", capture_max_bytes=10_000,
    )


@pytest.fixture
async def engine(any_database_url: str | None, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(any_database_url or f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await migrate.upgrade(eng)
    yield eng
    await eng.dispose()


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(PredictionRow))).scalar_one())


def recorder_for(engine: AsyncEngine, home: Path, metrics: Metrics | None = None) -> PredictionRecorder:
    return PredictionRecorder(engine, metrics or Metrics(), SpillStore(home / "spill"), flush_interval=60,
                              journal=Journal(home / "journal", fsync_interval=0.01))


def segments(home: Path) -> list[Path]:
    return sorted((home / "journal").glob("predictions-*.jsonl"))


async def test_a_recorded_row_is_in_the_journal_until_it_is_stored(engine: AsyncEngine,
                                                                   tmp_path: Path) -> None:
    recorder = recorder_for(engine, tmp_path)
    await recorder.start()
    for i in range(5):
        recorder.record(rec(i))
    [segment] = segments(tmp_path)
    lines = segment.read_bytes().splitlines()
    assert [row_from_json(line)[0] for line in lines] == [f"r{i}" for i in range(5)]
    assert row_from_json(lines[0])[2] == "m\\x00"  # journaled as it will be stored
    await recorder.flush()
    assert await count(engine) == 5 and segments(tmp_path) == []
    recorder.record(rec(5))
    await recorder.close()
    assert await count(engine) == 6 and segments(tmp_path) == []


async def test_start_replays_a_killed_process_segments_exactly_once(engine: AsyncEngine,
                                                                   tmp_path: Path) -> None:
    # a process killed after answering: its rows are in a segment, some already in the table
    dead = recorder_for(engine, tmp_path)
    for i in range(3):
        dead.record(rec(i))
    await dead.flush()  # r0..r2 stored, their segment trimmed
    for i in range(3, 8):
        dead.record(rec(i))
    assert dead.journal is not None
    left = dead.journal.rotate()  # the kernel closes a killed process's files: its flock goes
    assert left is not None and left.exists()
    # and a segment whose insert went through but whose unlink did not
    again = Journal(tmp_path / "journal")
    for line in left.read_bytes().splitlines()[:2]:
        again.append(row_from_json(line))
    again.rotate()
    live = Journal(tmp_path / "journal")  # a live process's segment is never taken
    live.append(row_from_json(left.read_bytes().splitlines()[0]))

    metrics = Metrics()
    recorder = recorder_for(engine, tmp_path, metrics)
    await recorder.start()
    assert await count(engine) == 8
    assert metrics.log_rows.labels("journal_replayed")._value.get() == 7
    assert metrics.log_rows.labels("duplicate")._value.get() == 2
    assert segments(tmp_path) == [live.current]
    await recorder.close()
    live.rotate()
    restarted = recorder_for(engine, tmp_path)
    await restarted.start()
    await restarted.close()
    assert await count(engine) == 8 and segments(tmp_path) == []
