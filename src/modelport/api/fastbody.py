"""Prediction bodies parsed with orjson straight into numpy, pydantic only when that fails.

Why: for a 30-float row, FastAPI's path (stdlib ``json``, a pydantic model, then a Python list
turned into an array) costs more than the model call per request once batching amortises the
model. The fast check accepts exactly what the pydantic model accepts in the common case; any
body it does not recognise goes through the pydantic model, so 422 errors (naming the field)
are the same as before and the OpenAPI schema still comes from the model.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from modelport.core.types import Tensor


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the JSON request body."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _invalid(errors: list[Any]) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e.get("loc", ()))} for e in errors])


def parse_rows(raw: bytes, model: type[BaseModel], field: str, ndims: tuple[int, ...]
               ) -> tuple[Tensor | list[Any], str | None]:
    """Return (rows, version) from a body shaped like ``model`` = {field: rows, version?}."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:  # NaN / Infinity literals: stdlib json reads them, then pydantic names the field
            data = json.loads(raw)
        except ValueError as exc:
            pos = getattr(exc, "pos", 0)
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body", pos),
                                           "msg": "JSON decode error", "input": {},
                                           "ctx": {"error": str(exc)[:200]}}]) from None
        return _slow(data, model, field)
    if type(data) is dict and field in data and (len(data) == 1 or (len(data) == 2 and "version" in data)):
        rows, version = data[field], data.get("version")
        if type(rows) is list and rows and (version is None or (type(version) is str and len(version) <= 64)):
            try:
                arr = np.asarray(rows, dtype=np.float64)
            except (ValueError, TypeError):
                arr = None
            # no finiteness check here: orjson refuses NaN, Infinity and numbers that overflow a
            # double, and the core's validation checks every edge's floats anyway
            if arr is not None and arr.ndim in ndims and arr.size:
                return arr, version
    return _slow(data, model, field)


def _slow(data: Any, model: type[BaseModel], field: str) -> tuple[list[Any], str | None]:
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc.errors(include_url=False)) from None
    return getattr(body, field), getattr(body, "version", None)
