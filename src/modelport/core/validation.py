"""Checks a request's tensors against a model signature before any model code runs.

Errors name the input and say what was expected; they never echo the tensor's values.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.errors import InvalidInput
from modelport.registry.manifest import Signature, TensorSpec


def _expected_shape(spec: TensorSpec) -> str:
    return "[" + ", ".join("N" if i == 0 and d == -1 else ("*" if d == -1 else str(d))
                           for i, d in enumerate(spec.shape)) + "]"


def _cast(name: str, arr: np.ndarray[Any, Any], spec: TensorSpec) -> np.ndarray[Any, Any]:
    if spec.dtype in ("bytes", "str"):
        return _text(name, arr if arr.dtype.kind == "O" else arr.astype(object), spec.dtype)
    if arr.dtype.kind in "OUSV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInput(f"input {name!r} must hold numbers ({spec.dtype})") from None
    target = _dtype(spec.dtype)
    if arr.dtype.kind == "f":
        if target.kind in "iub" and not np.all(np.mod(arr, 1) == 0):
            raise InvalidInput(f"input {name!r} must hold integers ({spec.dtype})")
        # count_nonzero: the same test as isfinite().all() without ndarray.all's Python wrapper
        if np.count_nonzero(np.isfinite(arr)) != arr.size:
            raise InvalidInput(f"input {name!r} contains NaN or infinity")
    return arr if arr.dtype == target else arr.astype(target)


@functools.cache
def _dtype(name: str) -> np.dtype[Any]:
    return np.dtype(name)


def _text(name: str, arr: np.ndarray[Any, Any], dtype: str) -> np.ndarray[Any, Any]:
    """A ``str`` input gets str elements and a ``bytes`` input bytes, whatever the wire carried
    (JSON strings, OIP binary BYTES): UTF-8 in both directions."""
    want, other = (str, bytes) if dtype == "str" else (bytes, str)
    if not any(isinstance(v, other) for v in arr.flat):
        return arr
    out = np.empty(arr.shape, dtype=object)
    for index, value in np.ndenumerate(arr):
        if isinstance(value, other) and not isinstance(value, want):
            try:
                value = value.decode("utf-8") if isinstance(value, bytes) else value.encode("utf-8")
            except UnicodeError:
                raise InvalidInput(f"input {name!r} must hold UTF-8 text") from None
        out[index] = value
    return out


def _fits(shape: list[int], actual: tuple[int, ...]) -> bool:
    """Every fixed dimension of ``shape`` (-1 is free) equals ``actual``'s; same length given."""
    if len(shape) == 2:  # rows x features, the common case, without a generator
        return shape[0] in (-1, actual[0]) and shape[1] in (-1, actual[1])
    return all(d == -1 or d == a for d, a in zip(shape, actual, strict=True))


def validate_inputs(signature: Signature, inputs: TensorDict, max_rows: int) -> TensorDict:
    """Return the inputs cast to the signature's dtypes, or raise :class:`InvalidInput`."""
    specs = signature.inputs
    if len(specs) == 1 and len(inputs) == 1:  # one input, the common case: its checks only
        spec = specs[0]
        arr = inputs.get(spec.name)
        if (arr is not None and arr.ndim == len(spec.shape) and 0 < arr.shape[0] <= max_rows
                and _fits(spec.shape, arr.shape)):
            return {spec.name: _cast(spec.name, arr, spec)}
    return _validate_each(signature, inputs, max_rows)  # any failure: found and named there


def _validate_each(signature: Signature, inputs: TensorDict, max_rows: int) -> TensorDict:
    if not inputs:
        raise InvalidInput("request has no inputs")
    expected = {s.name for s in signature.inputs}
    unknown = [n for n in inputs if n not in expected]
    if unknown:
        raise InvalidInput(
            f"unknown input(s) {', '.join(repr(n[:64]) for n in unknown[:5])}; "
            f"expected {', '.join(sorted(expected))}"
        )
    out: TensorDict = {}
    rows: int | None = None
    for spec in signature.inputs:
        arr = inputs.get(spec.name)
        if arr is None:
            raise InvalidInput(f"missing input {spec.name!r} of shape {_expected_shape(spec)}")
        if arr.ndim != len(spec.shape) or any(
            d > 0 and d != actual for d, actual in zip(spec.shape, arr.shape, strict=False)
        ):
            raise InvalidInput(
                f"input {spec.name!r} has shape {list(arr.shape)}; expected {_expected_shape(spec)}"
            )
        n = int(arr.shape[0])
        if n == 0:
            raise InvalidInput(f"input {spec.name!r} is empty")
        if n > max_rows:
            raise InvalidInput(f"input {spec.name!r} has {n} rows; the maximum is {max_rows}")
        if rows is not None and n != rows:
            raise InvalidInput("all inputs must have the same number of rows")
        rows = n
        out[spec.name] = _cast(spec.name, arr, spec)
    return out
