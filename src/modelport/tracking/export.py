"""Streamed exports of the prediction log: CSV and Parquet, page by page.

Each page of the keyset query becomes one CSV chunk or one Parquet row group, so an export of
millions of rows holds one page in memory. Tensors and feedback are JSON text columns.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson

COLUMNS = ["request_id", "time", "model", "version", "alias", "principal", "protocol", "status",
           "error_code", "rows", "latency_ms", "cached", "inputs_hash", "inputs_truncated",
           "trace_id", "inputs", "outputs", "actual"]
JSON_COLUMNS = {"inputs", "outputs"}


def _flat(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: item.get(k) for k in COLUMNS if k != "actual"}
    for key in JSON_COLUMNS:
        out[key] = orjson.dumps(item[key]).decode() if item[key] is not None else None
    fb = item.get("feedback")
    out["actual"] = orjson.dumps(fb["actual"]).decode() if fb else None
    return out


def _csv_chunk(items: list[dict[str, Any]], header: bool) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for item in items:
        row = _flat(item)
        row["time"] = row["time"].isoformat() if isinstance(row["time"], datetime) else row["time"]
        writer.writerow(row)
    return buf.getvalue().encode()


async def csv_stream(pages: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    header = True
    async for items in pages:
        yield await asyncio.to_thread(_csv_chunk, items, header)
        header = False
    if header:
        yield _csv_chunk([], True)


class _Sink(io.RawIOBase):
    """A write-only file that hands out what was written since the last drain."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        return len(chunk)

    def drain(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("request_id", pa.string()), ("time", pa.timestamp("us", tz="UTC")), ("model", pa.string()),
        ("version", pa.int64()), ("alias", pa.string()), ("principal", pa.string()),
        ("protocol", pa.string()), ("status", pa.string()), ("error_code", pa.string()),
        ("rows", pa.int64()), ("latency_ms", pa.float64()), ("cached", pa.bool_()),
        ("inputs_hash", pa.string()), ("inputs_truncated", pa.bool_()), ("trace_id", pa.string()),
        ("inputs", pa.string()), ("outputs", pa.string()), ("actual", pa.string()),
    ])


async def parquet_stream(pages: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = _Sink()
    schema = _schema()
    writer = pq.ParquetWriter(sink, schema)

    def write(items: list[dict[str, Any]]) -> bytes:
        writer.write_table(pa.Table.from_pylist([_flat(i) for i in items], schema=schema))
        return sink.drain()

    try:
        async for items in pages:
            chunk = await asyncio.to_thread(write, items)
            if chunk:
                yield chunk
    finally:
        writer.close()
    yield sink.drain()
