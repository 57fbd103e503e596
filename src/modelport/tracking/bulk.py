"""The prediction log's bulk insert: plain tuples in a few driver-level statements per batch.

The server is one Python process, so the log writer's CPU (it holds the GIL) is taken from
request handling. The insert therefore skips SQLAlchemy's per-row statement machinery
(insertmanyvalues rendering and compiling a new statement per batch size, a type processor per
value, ``RETURNING`` rows) and hands the driver the encoded rows
(:data:`~modelport.tracking.records.COLUMNS` order) as they are; ``bench/log_writer.py``
measures it. Both inserts skip a row whose request id is already logged (also a repeat within
the batch) and return how many rows they inserted, so replays are idempotent and duplicates
are counted:

* SQLite: multi-row ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING`` (see
  :class:`SqliteInsert`), counted by the cursor's ``rowcount`` (rows the conflict clause skips
  change nothing). Timestamps are bound as the text SQLAlchemy's ``DateTime`` stores
  (:func:`~modelport.tracking.records.sqlite_timestamp`), so the query API, its
  ``since``/``until`` comparisons and the exports read them alike.
* PostgreSQL: ``INSERT ... SELECT * FROM unnest($1::varchar[], ...) ON CONFLICT DO NOTHING``,
  one array per column (asyncpg encodes them in C), counted by a ``RETURNING`` CTE: one
  statement and one round trip per batch, on the event loop.
"""

from __future__ import annotations

import abc
import asyncio
import itertools
import sqlite3
import threading
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.tracking.records import COLUMNS, Row, sqlite_timestamp

_NAMES = ", ".join(f'"{c}"' for c in COLUMNS)
_SQLITE_ROW = "(" + ", ".join("?" * len(COLUMNS)) + ")"

#: PostgreSQL array type of each column of :data:`COLUMNS` (as created by migration 0003).
PG_TYPES: dict[str, str] = {
    "request_id": "varchar", "ts": "timestamptz", "model": "varchar", "version": "int4",
    "alias": "varchar", "principal": "varchar", "protocol": "varchar", "status": "varchar",
    "error_code": "varchar", "rows": "int4", "latency_ms": "float8", "cached": "bool",
    "inputs": "text", "inputs_hash": "varchar", "inputs_truncated": "bool", "outputs": "text",
    "trace_id": "varchar", "arm": "varchar", "prompt_tokens": "int4", "completion_tokens": "int4",
    "finish_reason": "varchar",
}


class BulkInsert(abc.ABC):
    """Insert rows, skipping request ids already logged; returns how many were inserted."""

    def stamp(self, ts: datetime) -> Any:
        """The timestamp as this driver binds it (the encoder applies it to every row)."""
        return ts

    @abc.abstractmethod
    async def __call__(self, rows: list[Row]) -> int: ...

    def close(self) -> None:  # noqa: B027 (most inserts hold nothing of their own)
        """Release what the insert holds of its own (the engine is not its to dispose)."""


class SqliteInsert(BulkInsert):
    """Multi-row inserts on a connection of the log writer's own, in one worker-thread call
    per batch; each statement of up to ``per_statement`` rows commits on its own.

    Why not the engine's aiosqlite connection: every statement there is a trip to its driver
    thread and back through the event loop. A busy server runs model calls in threads too, and
    CPython hands the GIL to any waiting thread, so one trip back took 1-2 s under the hot-swap
    test's load; a batch of several statements took 5-10 s, and as a transaction it held
    SQLite's single write lock all that time (alias moves waited out the busy timeout). Here a
    batch is one hop to a thread, and no lock outlives a statement: each statement takes and
    releases the write lock inside its own step. A batch is therefore not atomic: if a later
    statement fails, the whole batch is spilled and the replay skips the rows already in (they
    count as ``duplicate`` then, not ``written``).

    Why not ``executemany``: sqlite3 releases the GIL around every row's step and must take it
    back after, so under load each row waits for the GIL (a 1,000-row batch took seconds). Why
    not one statement of the batch's exact size: compiling a 1,000-row statement costs ~4 us a
    row. Batches are cut in powers of two instead, so a few statement texts serve every batch
    size (sqlite3 caches compiled statements by text). At most ``per_statement`` (128) rows a
    statement: binding a statement's parameters holds the GIL (about 2 us a row), and requests
    wait for it; the insert itself (SQLite's step) runs without it.

    The connection gets the per-connection settings :func:`modelport.storage.engine.make_engine`
    gives the engine's (the database is already in WAL mode: migrations ran through the engine).
    """

    def __init__(self, database: str, per_statement: int = 128,
                 max_parameters: int | None = None) -> None:
        if database in ("", ":memory:") or database.startswith("file:"):
            raise ValueError(f"the prediction log needs an SQLite database file, not {database!r}")
        self.database = database
        self.per_statement = per_statement
        self.max_parameters = max_parameters  # None: what the library allows (999 before 3.32)
        self._statements: dict[int, str] = {}
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one batch at a time on the connection

    def stamp(self, ts: datetime) -> Any:
        return sqlite_timestamp(ts)

    def statement(self, n: int) -> str:
        sql = self._statements.get(n)
        if sql is None:
            values = ", ".join([_SQLITE_ROW] * n)
            sql = f"INSERT INTO predictions ({_NAMES}) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608
            self._statements[n] = sql
        return sql

    async def __call__(self, rows: list[Row]) -> int:
        return await asyncio.to_thread(self.insert, rows)

    def insert(self, rows: list[Row]) -> int:
        """The insert itself (in a worker thread): statements of powers of two rows."""
        with self._lock:
            conn = self._conn or self._connect()
            inserted = 0
            start, total = 0, len(rows)
            while start < total:
                n = min(self.per_statement, 1 << ((total - start).bit_length() - 1))
                params = tuple(itertools.chain.from_iterable(rows[start:start + n]))
                inserted += conn.execute(self.statement(n), params).rowcount
                start += n
            return inserted

    def _connect(self) -> sqlite3.Connection:
        # autocommit (isolation_level None): no transaction spans two statements
        conn = sqlite3.connect(self.database, timeout=30, isolation_level=None,
                               check_same_thread=False)  # worker threads take turns (the lock)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        limit = self.max_parameters or conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self.per_statement = max(1, min(self.per_statement, limit // len(COLUMNS)))
        self._conn = conn
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresInsert(BulkInsert):
    sql = (f"WITH ins AS (INSERT INTO predictions ({_NAMES}) SELECT * FROM unnest("  # noqa: S608
           + ", ".join(f"${i}::{PG_TYPES[c]}[]" for i, c in enumerate(COLUMNS, 1))
           + ") ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM ins")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def __call__(self, rows: list[Row]) -> int:
        columns = tuple(list(col) for col in zip(*rows, strict=True))
        async with self.engine.begin() as conn:
            result = await conn.exec_driver_sql(self.sql, columns)
            return int(result.scalar_one())


def bulk_insert(engine: AsyncEngine) -> BulkInsert:
    """The insert for ``engine``'s database (SQLite or PostgreSQL)."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        return SqliteInsert(engine.url.database or "")
    if dialect == "postgresql":
        return PostgresInsert(engine)
    raise ValueError(f"prediction log does not support the {dialect} dialect")
