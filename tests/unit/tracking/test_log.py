"""The recorder on its own: spill when the insert fails, replay after, drop only when the disk
fails; the driver-level bulk insert on SQLite and PostgreSQL skips and counts duplicates and
stores rows exactly as the SQLAlchemy insert it replaced did."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.observability.metrics import Metrics
from modelport.storage import migrate
from modelport.storage.engine import make_engine, make_session_factory
from modelport.tracking.bulk import PG_TYPES, SqliteInsert
from modelport.tracking.log import ENCODE_SLICE, PredictionRecorder
from modelport.tracking.query import PredictionFilter, PredictionQuery
from modelport.tracking.records import COLUMNS, PredictionRecord, encode, encode_batch, now
from modelport.tracking.spill import SpillStore
from modelport.tracking.tables import PredictionRow


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
    records = [rec(i) for i in range(5)]
    for r in records:
        recorder.record(r)
    await recorder.close()  # no tables yet: the insert fails, the rows go to disk
    assert value(metrics, "spilled") == 5 and value(metrics, "dropped") == 0
    assert len(list((tmp_path / "spill").glob("predictions-*.jsonl"))) == 1

    await migrate.upgrade(engine)
    second = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    await second.start()
    await second.close()  # a new process picks the file up and replays it
    assert value(metrics, "replayed") == 5 and value(metrics, "written") == 5
    assert not list((tmp_path / "spill").glob("predictions-*.jsonl"))
    async with engine.connect() as conn:  # the stamps went through the spill file unchanged
        stored = dict((await conn.execute(select(PredictionRow.request_id, PredictionRow.ts))).all())
    assert stored == {r.request_id: r.ts.replace(tzinfo=None) for r in records}  # SQLite: naive UTC
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


@pytest.fixture
async def engine(any_database_url: str | None, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated database: an SQLite file, or a fresh PostgreSQL database."""
    eng = make_engine(any_database_url or f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await migrate.upgrade(eng)
    yield eng
    await eng.dispose()


async def stored_ids(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(PredictionRow.request_id))).scalars())


async def test_bulk_insert_skips_and_counts_duplicates(engine: AsyncEngine, tmp_path: Path) -> None:
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    for i in range(5):
        recorder.record(rec(i))
    await recorder.flush()
    assert value(metrics, "written") == 5 and value(metrics, "duplicate") == 0
    # r3, r4 were logged by the first flush; r7 comes twice within this batch
    for i in (3, 4, 5, 6, 7, 7):
        recorder.record(rec(i))
    await recorder.flush()
    assert value(metrics, "written") == 8 and value(metrics, "duplicate") == 3
    assert value(metrics, "spilled") == 0
    assert sorted(await stored_ids(engine)) == [f"r{i}" for i in range(8)]
    await recorder.close()


async def test_sqlite_statements_cover_any_batch_size(tmp_path: Path) -> None:
    """Batches are cut in statements of powers of two rows (a few cached texts), duplicates
    anywhere in them are skipped and not counted, and SQLite's parameter limit is respected."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await migrate.upgrade(engine)
    insert = SqliteInsert(str(tmp_path / "db.sqlite"), per_statement=8)
    assert await insert(encode_batch([rec(i) for i in range(21)], insert.stamp)) == 21
    assert set(insert._statements) == {8, 4, 1}  # 8 + 8 + 4 + 1
    # r15..r20 are logged already: 9 of 15 are new
    assert await insert(encode_batch([rec(i) for i in range(15, 30)], insert.stamp)) == 9
    assert sorted(await stored_ids(engine), key=lambda r: int(r[1:])) == [f"r{i}" for i in range(30)]

    wide = SqliteInsert(str(tmp_path / "db.sqlite"), max_parameters=999)  # SQLite < 3.32
    assert await wide(encode_batch([rec(i) for i in range(100, 250)], wide.stamp)) == 150
    assert max(wide._statements) * len(COLUMNS) <= 999
    insert.close()
    wide.close()
    await engine.dispose()


async def test_sqlite_statements_commit_one_by_one(tmp_path: Path) -> None:
    """No write transaction spans statements (it would hold SQLite's write lock across trips to
    a busy event loop): a failing statement leaves the earlier ones in, and nothing stays open."""
    path = tmp_path / "db.sqlite"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(engine)
    insert = SqliteInsert(str(path), per_statement=8)
    rows = encode_batch([rec(i) for i in range(16)], insert.stamp)
    broken = list(rows[12])
    broken[COLUMNS.index("model")] = None  # NOT NULL: not a conflict the statement may skip
    rows[12] = tuple(broken)
    with pytest.raises(sqlite3.IntegrityError):
        await insert(rows)
    assert sorted(await stored_ids(engine), key=lambda r: int(r[1:])) == [f"r{i}" for i in range(8)]

    assert await insert(encode_batch([rec(i) for i in range(20, 40)], insert.stamp)) == 20
    other = sqlite3.connect(path, timeout=0)  # a writer that does not wait
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
    insert.close()
    await engine.dispose()


def sample_records() -> list[PredictionRecord]:
    """Records covering every column's shapes: capture modes, errors, nulls, truncation, stamps."""
    x = np.arange(60, dtype=np.float64).reshape(20, 3)
    base = PredictionRecord(
        request_id="", ts=datetime(2026, 11, 22, 3, 22, 55, 123456, tzinfo=UTC), model="m",
        version=3, alias="production", principal="key:k1", protocol="v2-rest", error_code=None,
        rows=20, latency_ms=12.25, cached=True, inputs={"input": x},
        outputs={"predictions": np.arange(20), "probabilities": np.full((20, 2), 0.5)},
        capture="full", capture_max_bytes=65_536, trace_id="0af7651916cd43dd8448eb211c80319c",
    )
    return [
        base,
        dataclasses.replace(base, ts=datetime(2026, 11, 22, 3, 22, 56, tzinfo=UTC), capture="hash",
                            version=None, alias=None, principal=None, cached=False, trace_id=None),
        dataclasses.replace(base, ts=datetime(2026, 11, 22, 3, 22, 56, 1, tzinfo=UTC),
                            capture="none", error_code="invalid_input", outputs=None),
        dataclasses.replace(base, ts=datetime(2025, 1, 2, 0, 0, 0, 999999, tzinfo=UTC),
                            capture_max_bytes=200, latency_ms=3.0),  # inputs truncated
        dataclasses.replace(base, ts=now(), inputs=None, rows=0, error_code="internal_error"),
    ]


def old_insert(dialect: str) -> Any:
    """The statement the writer used before the driver-level insert (SQLAlchemy Core)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(PredictionRow).on_conflict_do_nothing().returning(PredictionRow.id)


async def test_rows_read_back_as_the_sqlalchemy_insert_wrote_them(engine: AsyncEngine,
                                                                  tmp_path: Path) -> None:
    samples = sample_records()
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    for i, r in enumerate(samples):
        recorder.record(dataclasses.replace(r, request_id=f"new-{i}"))
    await recorder.flush()
    assert value(metrics, "written") == len(samples)
    async with engine.begin() as conn:
        old = [encode(dataclasses.replace(r, request_id=f"old-{i}")) for i, r in enumerate(samples)]
        assert len((await conn.execute(old_insert(engine.dialect.name), old)).all()) == len(samples)

    async with engine.connect() as conn:
        rows = {r.request_id: r for r in (await conn.execute(select(PredictionRow))).all()}
        stored = {r.request_id: r for r in (await conn.exec_driver_sql(
            "SELECT request_id, " + ", ".join(f"CAST({c} AS TEXT)" for c in COLUMNS[1:])
            + " FROM predictions")).all()}
    fields = [c for c in COLUMNS if c != "request_id"]
    for i in range(len(samples)):
        new, old_row = rows[f"new-{i}"], rows[f"old-{i}"]
        assert [getattr(new, c) for c in fields] == [getattr(old_row, c) for c in fields], i
        assert tuple(stored[f"new-{i}"])[1:] == tuple(stored[f"old-{i}"])[1:], i  # same storage
    assert rows["new-3"].inputs_truncated and rows["new-1"].inputs is None

    # since/until compare the stored stamps alike: each window holds one new and one old row
    query = PredictionQuery(make_session_factory(engine))
    for r in samples:
        window = PredictionFilter(since=r.ts, until=r.ts + timedelta(microseconds=1))
        items, _ = await query.page(window)
        ids = sorted(item["request_id"] for item in items)
        assert len(ids) == 2 and ids[0].startswith("new-") and ids[1].startswith("old-")
        assert {item["time"] for item in items} == {r.ts}
    await recorder.close()


async def test_replayed_rows_keep_their_stamps(engine: AsyncEngine, tmp_path: Path) -> None:
    """A row that went through the spill file reads back like one inserted directly."""
    spill = SpillStore(tmp_path / "spill")
    samples = sample_records()
    spill.append([tuple(encode(dataclasses.replace(r, request_id=f"s{i}")).values())
                  for i, r in enumerate(samples)])
    spill.seal()
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    for i, r in enumerate(samples):
        recorder.record(dataclasses.replace(r, request_id=f"d{i}"))
    await recorder.flush()
    assert value(metrics, "written") == 2 * len(samples) and value(metrics, "replayed") == len(samples)
    async with engine.connect() as conn:
        rows = {r.request_id: r for r in (await conn.execute(select(PredictionRow))).all()}
    for i in range(len(samples)):
        assert rows[f"s{i}"].ts == rows[f"d{i}"].ts
        assert rows[f"s{i}"].outputs == rows[f"d{i}"].outputs
    await recorder.close()


def test_postgres_array_types_match_the_table() -> None:
    columns = [c for c in PredictionRow.__table__.columns if c.name != "id"]
    assert tuple(c.name for c in columns) == COLUMNS
    sql_type = {"VARCHAR": "varchar", "TIMESTAMP WITH TIME ZONE": "timestamptz", "INTEGER": "int4",
                "FLOAT": "float8", "BOOLEAN": "bool", "TEXT": "text"}
    for c in columns:
        compiled = c.type.compile(dialect=postgresql.dialect()).split("(")[0]
        assert PG_TYPES[c.name] == sql_type[compiled], c.name


async def test_a_large_flush_is_encoded_in_slices_and_the_loop_runs_between_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await migrate.upgrade(engine)
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(tmp_path / "spill"), flush_interval=60)
    n = ENCODE_SLICE * 4 + 3
    for i in range(n):
        recorder.record(rec(i))
    events: list[str] = []

    def encode_slice(records: list[PredictionRecord], stamp: Any) -> list[Any]:
        events.append(f"slice {len(records)}")
        return encode_batch(records, stamp)

    monkeypatch.setattr("modelport.tracking.log.encode_batch", encode_slice)
    stop = asyncio.Event()

    async def other_work() -> None:  # stands for requests served while the log encodes
        while not stop.is_set():
            if not events or events[-1] != "turn":
                events.append("turn")
            await asyncio.sleep(0)

    task = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    await recorder.flush()
    stop.set()
    await task
    slices = [e for e in events if e.startswith("slice")]
    assert slices == [f"slice {ENCODE_SLICE}"] * 4 + ["slice 3"]
    between = "".join("s" if e.startswith("slice") else "t" for e in events)
    assert "ss" not in between  # the loop ran between every two slices
    assert value(metrics, "written") == n
    assert sorted(await stored_ids(engine), key=lambda r: int(r[1:])) == [f"r{i}" for i in range(n)]
    await recorder.close()
    await engine.dispose()
