"""What the request path hands the prediction log, and how the writer turns it into a row.

The request path only builds a :class:`PredictionRecord` holding references to the numpy arrays
it already has (no copy, no encoding). The background writer calls :func:`encode_batch` off the
event loop: JSON-encode the captured tensors (orjson), hash them, or drop them, per the capture
mode. A row is a plain tuple in :data:`COLUMNS` order, which the drivers bind as they are (the
writer pays for every per-row object and call it makes while holding the GIL).

Capture modes (settings.tracking.capture, overridden per version by ``ServingConfig.capture``):
``full`` stores the inputs as JSON, keeping only the leading rows that fit ``capture_max_bytes``
(``inputs_truncated`` says so), which is what drift analysis reads; ``hash`` stores the SHA-256
of the canonical input bytes (joinable, not readable); ``none`` stores neither. Outputs are
stored in every mode (feedback and performance need them), under the same size limit.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from opentelemetry.trace import SpanContext

from modelport.core.digest import digest
from modelport.core.types import TensorDict
from modelport.observability.context import new_request_id

_NUMPY = orjson.OPT_SERIALIZE_NUMPY

#: The ``predictions`` columns the writer fills, in the order of an encoded :data:`Row`.
COLUMNS: tuple[str, ...] = (
    "request_id", "ts", "model", "version", "alias", "principal", "protocol", "status",
    "error_code", "rows", "latency_ms", "cached", "inputs", "inputs_hash", "inputs_truncated",
    "outputs", "trace_id", "arm", "prompt_tokens", "completion_tokens", "finish_reason",
)
#: columns added later: a spill or journal line written before them reads back as None
_LATER = frozenset(("arm", "prompt_tokens", "completion_tokens", "finish_reason"))  # older lines lack them
Row = tuple[Any, ...]


@dataclass(slots=True)
class PredictionRecord:
    request_id: str
    ts: datetime
    model: str
    version: int | None
    alias: str | None
    principal: str | None
    protocol: str
    error_code: str | None  # None = success
    rows: int
    latency_ms: float
    cached: bool
    inputs: TensorDict | None
    outputs: TensorDict | None
    capture: str
    capture_max_bytes: int
    trace_id: str | None = None
    span: SpanContext | None = None  # linked from the writer's flush span
    arm: str | None = None  # traffic arm that served: primary, canary or shadow (#20)
    prompt_tokens: int | None = None  # generations only
    completion_tokens: int | None = None
    finish_reason: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def _jsonable(arr: np.ndarray[Any, Any]) -> Any:
    if arr.dtype.kind == "S":
        return [base64.b64encode(x).decode() for x in arr.ravel().tolist()]
    if arr.dtype.kind == "O":
        return [base64.b64encode(x).decode() if isinstance(x, bytes) else str(x)
                for x in arr.ravel().tolist()]
    return np.ascontiguousarray(arr)  # orjson serialises C-ordered arrays only


def encode_tensors(tensors: TensorDict, max_bytes: int) -> tuple[str | None, bool]:
    """JSON text of ``{name: nested list}`` keeping the leading rows that fit ``max_bytes``."""
    try:
        # numeric arrays (the common case) serialize as they are; orjson refuses bytes/object
        # arrays and arrays not in C order, which then take the conversion below: same text
        raw = orjson.dumps(tensors, option=_NUMPY)
    except (TypeError, orjson.JSONEncodeError):
        try:
            raw = orjson.dumps({k: _jsonable(v) for k, v in tensors.items()}, option=_NUMPY)
        except (TypeError, orjson.JSONEncodeError):
            return None, True
    if len(raw) <= max_bytes:
        return raw.decode(), False
    rows = max((int(v.shape[0]) for v in tensors.values() if v.ndim), default=0)
    if rows <= 1 or max_bytes == 0:
        return None, True
    keep = int(rows * max_bytes / len(raw))  # rows are about equally long
    while keep > 0:
        part = {k: _jsonable(v[:keep] if v.ndim else v) for k, v in tensors.items()}
        raw = orjson.dumps(part, option=_NUMPY)
        if len(raw) <= max_bytes:
            return raw.decode(), True
        keep = keep * 3 // 4
    return None, True


def _clip(value: str | None, n: int) -> str | None:
    return value if value is None or len(value) <= n else value[:n]


def _same(ts: datetime) -> Any:
    return ts


def sqlite_timestamp(ts: datetime) -> str:
    """``ts`` as SQLAlchemy's SQLite ``DateTime`` stores it: ``YYYY-MM-DD HH:MM:SS.ffffff`` of
    the fields as given (the offset is dropped; the log's stamps are UTC), so rows written by
    the raw insert compare and read back exactly like rows written through SQLAlchemy."""
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 (a third faster than isoformat)
        ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond)


def encode_row(record: PredictionRecord, stamp: Callable[[datetime], Any] = _same) -> Row:
    """The ``predictions`` row for one record, in :data:`COLUMNS` order (runs in the writer's
    thread); ``stamp`` turns the timestamp into what the driver binds (see :func:`sqlite_timestamp`)."""
    inputs_json: str | None = None
    inputs_hash: str | None = None
    truncated = False
    inputs = record.inputs
    capture = record.capture
    if inputs and (capture == "full" or capture == "hash"):
        if capture == "full":
            inputs_json, truncated = encode_tensors(inputs, record.capture_max_bytes)
        try:
            inputs_hash = digest(inputs)
        except (TypeError, ValueError):
            inputs_hash = None
    outputs = record.outputs
    outputs_json = encode_tensors(outputs, record.capture_max_bytes)[0] if outputs else None
    error_code = record.error_code
    return (
        _clip(record.request_id, 128) or new_request_id(),
        stamp(record.ts),
        _clip(record.model, 128) or "",
        record.version,
        _clip(record.alias, 64),
        _clip(record.principal, 128),
        _clip(record.protocol, 16) or "",
        "ok" if error_code is None else "error",
        _clip(error_code, 64),
        record.rows,
        record.latency_ms,
        record.cached,
        inputs_json,
        inputs_hash,
        truncated,
        outputs_json,
        record.trace_id,
        _clip(record.arm, 16),
        record.prompt_tokens,
        record.completion_tokens,
        _clip(record.finish_reason, 16),
    )


def encode_batch(records: list[PredictionRecord],
                 stamp: Callable[[datetime], Any] = _same) -> list[Row]:
    return [encode_row(r, stamp) for r in records]


def encode(record: PredictionRecord) -> dict[str, Any]:
    """One row as a ``{column: value}`` dict (what SQLAlchemy's ``insert`` takes)."""
    return dict(zip(COLUMNS, encode_row(record), strict=True))


def row_to_json(row: Row) -> bytes:
    """One spill-file line: a JSON object keyed by column (stamps in either form)."""
    return orjson.dumps(dict(zip(COLUMNS, row, strict=True)), option=orjson.OPT_UTC_Z) + b"\n"


def row_from_json(line: bytes) -> Row:
    """A spill-file line back to a row, its stamp a UTC ``datetime``; KeyError if incomplete."""
    obj: dict[str, Any] = orjson.loads(line)
    ts = datetime.fromisoformat(obj["ts"].replace("Z", "+00:00"))
    obj["ts"] = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return tuple(obj.get(c) if c in _LATER else obj[c] for c in COLUMNS)
