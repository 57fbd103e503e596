"""One bad row never costs its batch: text is made storable before it is queued, a row the
database still refuses is set aside alone (dead-letter file, metric, log line), and a replay
goes past a spill file holding such rows. On SQLite and on a real PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.observability.metrics import Metrics
from modelport.storage import migrate
from modelport.storage.engine import make_engine
from modelport.tracking.deadletter import DeadLetters
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.records import PredictionRecord, encode_row, now
from modelport.tracking.spill import SpillStore
from modelport.tracking.storable import make_storable, storable_text
from modelport.tracking.tables import PredictionRow


def rec(i: int, model: str = "m", alias: str | None = None) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r{i}", ts=now(), model=model, version=1, alias=alias, principal="p",
        protocol="grpc", error_code=None, rows=1, latency_ms=1.0, cached=False,
        inputs={"input": np.ones((1, 2)) * i}, outputs={"predictions": np.array([i])},
        capture="full", capture_max_bytes=10_000,
    )


def value(metrics: Metrics, outcome: str) -> float:
    return float(metrics.log_rows.labels(outcome)._value.get())


@pytest.fixture
async def engine(any_database_url: str | None, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(any_database_url or f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await migrate.upgrade(eng)
    yield eng
    await eng.dispose()


async def stored(engine: AsyncEngine) -> dict[str, PredictionRow]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(PredictionRow))).all()
    return {r.request_id: r for r in rows}


def test_storable_text_escapes_nul_and_unencodable_characters_and_cuts() -> None:
    assert storable_text("iris\x00") == "iris\\x00"
    assert storable_text("a\udcffb") == "a\\udcffb"
    assert storable_text("x" * 300, 128) == "x" * 128
    record = make_storable(rec(1, model="iris\x00" + "y" * 200, alias="prod\x00"))
    assert record.model.startswith("iris\\x00") and len(record.model) == 128
    assert record.alias == "prod\\x00"
    clean = rec(2)
    assert make_storable(clean).model == "m"


async def test_nul_and_bad_text_are_stored_escaped_with_their_batch(engine: AsyncEngine,
                                                                    tmp_path: Path) -> None:
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    for i in range(26):
        recorder.record(rec(i))
    recorder.record(rec(100, model="iris\x00", alias="prod\x00"))
    recorder.record(rec(101, model="bad\udcff"))
    await recorder.flush()
    rows = await stored(engine)
    assert len(rows) == 28 and value(metrics, "spilled") == 0 and value(metrics, "dead_letter") == 0
    assert rows["r100"].model == "iris\\x00" and rows["r100"].alias == "prod\\x00"
    assert rows["r101"].model == "bad\\udcff"
    await recorder.close()


async def test_a_refused_row_is_set_aside_alone_and_replay_goes_past_it(
        engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A spill file from before the escaping (a raw NUL) or hand-edited (a count that is not a
    number) holds rows the database refuses: they go to the dead-letter file, the rest in."""
    spill = SpillStore(tmp_path / "spill")
    good = [encode_row(rec(i)) for i in range(40)]
    nul = list(encode_row(rec(50)))
    nul[2] = "iris\x00"  # model, as an older writer queued it
    huge = list(encode_row(rec(51)))
    huge[9] = 2**40  # rows: out of int4's range (PostgreSQL); SQLite stores it
    spill.append([*good[:20], tuple(nul), *good[20:], tuple(huge)])
    spill.seal()
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, spill, flush_interval=60)
    with caplog.at_level(logging.ERROR, logger="modelport.tracking.log"):
        await recorder.flush()  # nothing buffered, the database is up: the replay runs
    rows = await stored(engine)
    assert {f"r{i}" for i in range(40)} <= set(rows)
    assert not list((tmp_path / "spill").glob("predictions-*.jsonl")), "the spill file was replayed"
    letters = DeadLetters(tmp_path / "deadletter").rows()
    refused = {str(letter["row"]["request_id"]) for letter in letters}  # type: ignore[index]
    if engine.dialect.name == "postgresql":
        assert refused == {"r50", "r51"} and set(rows) == {f"r{i}" for i in range(40)}
        assert value(metrics, "dead_letter") == 2
        assert all(letter["reason"] for letter in letters)
        assert "set aside" in caplog.text and "r50" in caplog.text
    else:  # SQLite stores both as they are: nothing to set aside
        assert refused == set() and len(rows) == 42
    await recorder.close()


async def test_an_outage_still_spills_the_whole_batch(tmp_path: Path) -> None:
    """No table (as before migrations) is not a row's fault: nothing is dead-lettered."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    for i in range(3):
        recorder.record(rec(i))
    await recorder.flush()
    assert value(metrics, "spilled") == 3 and value(metrics, "dead_letter") == 0
    await recorder.close()
    await engine.dispose()
