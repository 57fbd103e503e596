"""What the request path hands the prediction log, and how the writer turns it into a row.

The request path only builds a :class:`PredictionRecord` holding references to the numpy arrays
it already has (no copy, no encoding). The background writer calls :func:`encode` off the event
loop: JSON-encode the captured tensors (orjson), hash them, or drop them, per the capture mode.

Capture modes (settings.capture, overridden per version by ``ServingConfig.capture``):
``full`` stores the inputs as JSON, keeping only the leading rows that fit ``capture_max_bytes``
(``inputs_truncated`` says so), which is what drift analysis reads; ``hash`` stores the SHA-256
of the canonical input bytes (joinable, not readable); ``none`` stores neither. Outputs are
stored in every mode (feedback and performance need them), under the same size limit.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from opentelemetry.trace import SpanContext

from modelport.core.digest import digest
from modelport.core.types import TensorDict

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


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


def new_request_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


def _jsonable(arr: np.ndarray[Any, Any]) -> Any:
    if arr.dtype.kind == "S":
        return [base64.b64encode(x).decode() for x in arr.ravel().tolist()]
    if arr.dtype.kind == "O":
        return [base64.b64encode(x).decode() if isinstance(x, bytes) else str(x)
                for x in arr.ravel().tolist()]
    return arr


def encode_tensors(tensors: TensorDict, max_bytes: int) -> tuple[str | None, bool]:
    """JSON text of ``{name: nested list}`` keeping the leading rows that fit ``max_bytes``."""
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


def encode(record: PredictionRecord) -> dict[str, Any]:
    """The ``predictions`` row for one record (runs in the writer's thread)."""
    inputs_json: str | None = None
    inputs_hash: str | None = None
    truncated = False
    if record.inputs:
        if record.capture == "full":
            inputs_json, truncated = encode_tensors(record.inputs, record.capture_max_bytes)
        if record.capture in ("full", "hash"):
            try:
                inputs_hash = digest(record.inputs)
            except (TypeError, ValueError):
                inputs_hash = None
    outputs_json = None
    if record.outputs:
        outputs_json, _ = encode_tensors(record.outputs, record.capture_max_bytes)
    return {
        "request_id": _clip(record.request_id, 128) or new_request_id(),
        "ts": record.ts,
        "model": _clip(record.model, 128) or "",
        "version": record.version,
        "alias": _clip(record.alias, 64),
        "principal": _clip(record.principal, 128),
        "protocol": _clip(record.protocol, 16) or "",
        "status": "ok" if record.error_code is None else "error",
        "error_code": _clip(record.error_code, 64),
        "rows": record.rows,
        "latency_ms": record.latency_ms,
        "cached": record.cached,
        "inputs": inputs_json,
        "inputs_hash": inputs_hash,
        "inputs_truncated": truncated,
        "outputs": outputs_json,
        "trace_id": record.trace_id,
    }


def row_to_json(row: dict[str, Any]) -> bytes:
    """One spill-file line."""
    return orjson.dumps(row, option=orjson.OPT_UTC_Z) + b"\n"


def row_from_json(line: bytes) -> dict[str, Any]:
    row: dict[str, Any] = orjson.loads(line)
    ts = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
    row["ts"] = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return row
