"""``/api/v1`` predict bodies: strict numbers, one clear message per bad body, the seeds' names.

Why not the pydantic model alone: ``list[float] | list[list[float]]`` answers a bad row with
one error per union member (five for a NaN), reads ``"5.1"`` as a number in lax mode, and a
garbage body came back as ``"32: JSON decode error"``. Here the body is read with orjson into
numpy and checked once, so each bad body gets exactly one message naming the field; the
pydantic models in :mod:`modelport.api.schemas` still document the body in OpenAPI.

Accepted names: ``version`` or ``model_version`` (a number or an alias; string or integer) and
``confidence_threshold`` (0..1), beside ``features`` (or ``samples`` for the batch route).
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from modelport.core.types import Tensor

MAX_VERSION_LENGTH = 64
NONFINITE = "only finite numbers are allowed (not-a-number and infinite literals are not JSON)"
OPTIONS = frozenset({"version", "model_version", "confidence_threshold"})


@dataclass(frozen=True)
class PredictBody:
    rows: Tensor
    version: str | None
    confidence_threshold: float | None
    single_row: bool  # the body sent one flat row (the seeds' shape): answers add scalar fields


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the JSON request body."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


def invalid(field: str, message: str, kind: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", field), "msg": message, "input": None}])


def _load(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        data: Any = None
        with contextlib.suppress(ValueError):  # NaN/Infinity literals (orjson refuses), or not JSON?
            data = json.loads(raw)
        if data is not None:
            fields = [k for k, v in data.items() if _nonfinite(v)] if isinstance(data, dict) else []
            raise invalid(fields[0] if fields else "body", NONFINITE) from None
        where = f"line {exc.lineno} column {exc.colno}"
        raise invalid("body", f"the body is not valid JSON ({exc.msg} at {where})", "json_invalid") from None


def _nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_nonfinite(v) for v in value)
    return isinstance(value, dict) and any(_nonfinite(v) for v in value.values())


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _describe(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", dict: "an object", list: "a list", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _rows(value: Any, field: str, flat_ok: bool, may_hold_bools: bool) -> tuple[Tensor, bool]:
    shape = "a list of numbers or a list of rows" if flat_ok else "a list of rows (lists of numbers)"
    if type(value) is not list or not value:
        raise invalid(field, f"expected {shape}, got {_describe(value) if value != [] else 'an empty list'}")
    flat = type(value[0]) is not list
    if flat and not flat_ok:
        raise invalid(field, f"expected {shape}; for one row, send [[...]]")
    items = [value] if flat else value
    if not may_hold_bools:  # numpy reads numbers only as int/float arrays (strings, null: other kinds)
        try:
            fast = np.asarray(items)
        except ValueError:  # ragged: the checks below say where
            fast = None
        if fast is not None and fast.ndim == 2 and fast.shape[1] and fast.dtype.kind in "if":
            return _finite(fast.astype(np.float64, copy=False), field), flat
    width = len(items[0])
    for i, row in enumerate(items):
        where = f"{field}[{i}]" if not flat else field
        if type(row) is not list:
            raise invalid(field, f"{where} is {_describe(row)}; every row must be a list of numbers")
        if len(row) != width or not row:
            raise invalid(field, "every row must have the same, non-zero number of values")
        for j, x in enumerate(row):
            if not _is_number(x):
                raise invalid(field, f"{where}[{j}] is {_describe(x)}, not a number (numbers are not quoted)")
    try:
        arr = np.asarray(items, dtype=np.float64)
    except OverflowError:
        raise invalid(field, "a number is too large for a 64-bit float") from None
    return _finite(arr, field), flat


def _finite(arr: Tensor, field: str) -> Tensor:
    if not np.isfinite(arr).all():
        raise invalid(field, "numbers must be finite (one is too large for a 64-bit float)")
    return arr


def _version(data: dict[str, Any]) -> str | None:
    given = {k: data[k] for k in ("version", "model_version") if data.get(k) is not None}
    for key, value in given.items():
        if type(value) is int:
            if value < 1:
                raise invalid(key, "a version number is at least 1")
        elif type(value) is not str or not value or len(value) > MAX_VERSION_LENGTH:
            raise invalid(key, f"expected a version number or an alias (1-{MAX_VERSION_LENGTH} characters)")
    values = {str(v) for v in given.values()}
    if len(values) > 1:
        raise invalid("model_version", "version and model_version disagree; send one of them")
    return values.pop() if values else None


def _threshold(data: dict[str, Any]) -> float | None:
    value = data.get("confidence_threshold")
    if value is None:
        return None
    if not _is_number(value) or not 0 <= value <= 1:
        raise invalid("confidence_threshold", "expected a number from 0 to 1")
    return float(value)


def parse_predict_body(raw: bytes, field: str, *, flat_ok: bool) -> PredictBody:
    """Read ``{field: rows, version | model_version?, confidence_threshold?}``; one error at most."""
    data = _load(raw)
    if type(data) is not dict:
        raise invalid("body", f'expected a JSON object like {{"{field}": [...]}}, got {_describe(data)}')
    for key in data:
        if key != field and key not in OPTIONS:
            raise invalid(key, "Extra inputs are not permitted", "extra_forbidden")
    if field not in data:
        raise invalid(field, "Field required", "missing")
    rows, flat = _rows(data[field], field, flat_ok, b"true" in raw or b"false" in raw)
    return PredictBody(rows=rows, version=_version(data), confidence_threshold=_threshold(data),
                       single_row=flat)
