"""The prediction log's bulk insert: plain tuples in one driver-level statement per batch.

The server is one Python process, so the log writer's CPU (it holds the GIL) is taken from
request handling. The insert therefore skips SQLAlchemy's per-row statement machinery
(insertmanyvalues rendering, a type processor per value, ``RETURNING`` rows) and hands the
driver the encoded rows (:data:`~modelport.tracking.records.COLUMNS` order) as they are;
``bench/log_writer.py`` measures it. Both statements skip a row whose request id is already
logged (also a repeat within the batch) and return how many rows they inserted, so replays are
idempotent and duplicates are counted:

* SQLite: multi-row ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING``, counted by the
  cursor's ``rowcount`` (rows the conflict clause skips change nothing). Timestamps are bound
  as the text SQLAlchemy's ``DateTime`` stores (:func:`~modelport.tracking.records.sqlite_timestamp`),
  so the query API, its ``since``/``until`` comparisons and the exports read them alike.
* PostgreSQL: ``INSERT ... SELECT * FROM unnest($1::varchar[], ...) ON CONFLICT DO NOTHING``,
  one array per column (asyncpg encodes them in C), counted by a ``RETURNING`` CTE.
"""

from __future__ import annotations

import abc
import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from modelport.tracking.records import COLUMNS, Row, sqlite_timestamp

_NAMES = ", ".join(f'"{c}"' for c in COLUMNS)
_SQLITE_ROW = "(" + ", ".join("?" * len(COLUMNS)) + ")"

#: PostgreSQL array type of each column of :data:`COLUMNS` (as created by migration 0003).
PG_TYPES: dict[str, str] = {
    "request_id": "varchar", "ts": "timestamptz", "model": "varchar", "version": "int4",
    "alias": "varchar", "principal": "varchar", "protocol": "varchar", "status": "varchar",
    "error_code": "varchar", "rows": "int4", "latency_ms": "float8", "cached": "bool",
    "inputs": "text", "inputs_hash": "varchar", "inputs_truncated": "bool", "outputs": "text",
    "trace_id": "varchar",
}


class BulkInsert(abc.ABC):
    """Insert rows, skipping request ids already logged; returns how many were inserted."""

    def stamp(self, ts: datetime) -> Any:
        """The timestamp as this driver binds it (the encoder applies it to every row)."""
        return ts

    @abc.abstractmethod
    async def __call__(self, conn: AsyncConnection, rows: list[Row]) -> int: ...


class SqliteInsert(BulkInsert):
    """Multi-row ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING`` on the aiosqlite
    connection itself, ``per_statement`` rows at a time.

    Not ``executemany``: sqlite3 releases the GIL around every row's step and must take it back
    after, so under load each row waits for the event loop to let go of the GIL (up to the 5 ms
    switch interval) and a 1,000-row batch took seconds while forcing a thread switch on the
    loop per row. One statement per ``per_statement`` rows makes that a handful per batch.
    Remainders are split in powers of two, so a few statement texts serve every batch size
    (sqlite3 caches the compiled statements by text). The SQLAlchemy cursor adapter is skipped
    because each of its cursor open/execute/close calls is another trip to the driver's thread.
    """

    def __init__(self, per_statement: int = 256) -> None:
        self.per_statement = per_statement
        self._statements: dict[int, str] = {}

    def stamp(self, ts: datetime) -> Any:
        return sqlite_timestamp(ts)

    def statement(self, n: int) -> str:
        sql = self._statements.get(n)
        if sql is None:
            values = ", ".join([_SQLITE_ROW] * n)
            sql = f"INSERT INTO predictions ({_NAMES}) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608
            self._statements[n] = sql
        return sql

    async def __call__(self, conn: AsyncConnection, rows: list[Row]) -> int:
        # SQLite before 3.32 binds at most 999 parameters (the dialect knows once connected)
        per = max(1, min(self.per_statement,
                         conn.dialect.insertmanyvalues_max_parameters // len(COLUMNS)))
        driver = (await conn.get_raw_connection()).driver_connection  # aiosqlite.Connection
        assert driver is not None
        inserted = 0
        start, total = 0, len(rows)
        while start < total:
            n = min(per, 1 << ((total - start).bit_length() - 1))
            params = tuple(itertools.chain.from_iterable(rows[start:start + n]))
            # the cursor is left to the garbage collector: closing it is one more thread trip
            cursor = await driver.execute(self.statement(n), params)
            inserted += cursor.rowcount  # rows the conflict clause skipped are not changes
            start += n
        return inserted


class PostgresInsert(BulkInsert):
    sql = (f"WITH ins AS (INSERT INTO predictions ({_NAMES}) SELECT * FROM unnest("  # noqa: S608
           + ", ".join(f"${i}::{PG_TYPES[c]}[]" for i, c in enumerate(COLUMNS, 1))
           + ") ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM ins")

    async def __call__(self, conn: AsyncConnection, rows: list[Row]) -> int:
        columns = tuple(list(col) for col in zip(*rows, strict=True))
        result = await conn.exec_driver_sql(self.sql, columns)
        return int(result.scalar_one())


def bulk_insert(engine: AsyncEngine) -> BulkInsert:
    """The insert for ``engine``'s database (SQLite or PostgreSQL)."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        return SqliteInsert()
    if dialect == "postgresql":
        return PostgresInsert()
    raise ValueError(f"prediction log does not support the {dialect} dialect")
