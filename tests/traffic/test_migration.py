"""Migration 0006_traffic: up, down to 0005_text, up again on both databases; the tables it makes
match the ORM models (no autogenerate diff), the prediction log's ``arm`` column included."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from modelport.storage import migrate
from modelport.storage.engine import make_engine
from modelport.storage.metadata import metadata

TABLES = {"alias_policies", "alias_events", "webhooks", "webhook_deliveries"}


def _state(conn: Connection) -> tuple[set[str], set[str], list[Any]]:
    insp = inspect(conn)
    columns = {c["name"] for c in insp.get_columns("predictions")}
    diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata())

    def ours(diff: Any) -> bool:
        text = repr(diff)
        return any(t in text for t in TABLES) or "'arm'" in text

    return set(insp.get_table_names()), columns, [d for d in diffs if ours(d)]


async def test_up_down_up(any_database_url: str | None, make_settings: Any) -> None:
    settings = make_settings(database_url=any_database_url)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            tables, columns, diffs = await conn.run_sync(_state)
        assert tables >= TABLES and "arm" in columns and diffs == []
        await migrate.downgrade(engine, "0005_text")
        async with engine.connect() as conn:
            tables, columns, _ = await conn.run_sync(_state)
        assert not tables & TABLES and "arm" not in columns
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            tables, columns, diffs = await conn.run_sync(_state)
        assert tables >= TABLES and "arm" in columns and diffs == []
    finally:
        await engine.dispose()
