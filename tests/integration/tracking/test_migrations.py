"""Migration 0003_tracking: upgrade → downgrade → upgrade on SQLite and PostgreSQL, and the
tables it creates match the ORM models (no autogenerate diff), indexes included."""

from __future__ import annotations

from typing import Any

import numpy as np
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from modelport.observability.metrics import Metrics
from modelport.storage import migrate
from modelport.storage.engine import make_engine
from modelport.storage.metadata import metadata
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.records import PredictionRecord, now
from modelport.tracking.spill import SpillStore

TRACKING_TABLES = {"predictions", "prediction_feedback", "model_references"}


def _schema(conn: Connection) -> dict[str, Any]:
    insp = inspect(conn)
    tables = set(insp.get_table_names())
    out: dict[str, Any] = {"tables": tables}
    if "predictions" in tables:
        out["indexes"] = {i["name"]: i["column_names"] for i in insp.get_indexes("predictions")}
        out["unique"] = [u["column_names"] for u in insp.get_unique_constraints("predictions")]
    return out


def _diff(conn: Connection) -> list[Any]:
    diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata())

    def table_of(d: Any) -> str | None:
        item = d[0] if isinstance(d, list) else d
        for part in item[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            if table is not None:
                return str(table.name)
            if name in TRACKING_TABLES:
                return str(name)
            if isinstance(part, str) and part in TRACKING_TABLES:
                return part
        return None

    return [d for d in diffs if table_of(d) in TRACKING_TABLES]


async def test_upgrade_downgrade_upgrade(any_database_url: str | None, make_settings: Any) -> None:
    settings = make_settings(database_url=any_database_url)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            schema = await conn.run_sync(_schema)
            assert await conn.run_sync(_diff) == []
        assert schema["tables"] >= TRACKING_TABLES
        assert schema["indexes"]["ix_predictions_model_ts"] == ["model", "ts"]
        assert schema["indexes"]["ix_predictions_principal_ts"] == ["principal", "ts"]
        assert ["request_id"] in schema["unique"]

        await migrate.downgrade(engine, "0001_registry")
        async with engine.connect() as conn:
            schema = await conn.run_sync(_schema)
        assert not TRACKING_TABLES & schema["tables"] and "models" in schema["tables"]

        await migrate.downgrade(engine, "base")
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert (await conn.run_sync(_schema))["tables"] >= TRACKING_TABLES

        # the bulk insert works on the migrated schema, and a replayed row is not duplicated
        metrics = Metrics()
        recorder = PredictionRecorder(engine, metrics, SpillStore(settings.home / "spill"))
        rec = PredictionRecord(
            request_id="m-1", ts=now(), model="m", version=1, alias=None, principal="p",
            protocol="rest", error_code=None, rows=1, latency_ms=1.0, cached=False,
            inputs={"input": np.ones((1, 2))}, outputs=None, capture="full", capture_max_bytes=1000,
        )
        recorder.record(rec)
        await recorder.flush()
        recorder.record(rec)
        await recorder.flush()
        assert metrics.log_rows.labels("written")._value.get() == 1
        assert metrics.log_rows.labels("duplicate")._value.get() == 1
    finally:
        await engine.dispose()
