"""Canonical bytes of a tensor dict: the identity of a request's inputs.

The prediction cache keys on it and the prediction log hashes it (``capture=hash``), so two
requests with equal inputs agree whatever protocol carried them. Names are sorted, and dtype and
shape are part of the identity (``[1, 2]`` as int64 and as float64 are different requests).
Object/str arrays are encoded element by element (``tobytes`` of an object array would be
pointers, different on every request).

:func:`digest` runs once per request (the cache key) and once per logged row, so it feeds the
hash as it goes rather than collecting the parts first, and remembers the header of each
(name, dtype, shape) it has seen: formatting ``dtype.str`` and the shape cost more than hashing a
one-row request. The bytes hashed must never change (cache keys are shared by replicas of
different versions): a unit test pins known digests.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

from modelport.core.types import Tensor, TensorDict

_HEADERS: dict[tuple[str, Any, tuple[int, ...]], bytes] = {}
_HEADERS_MAX = 4096  # distinct (name, dtype, shape); batch sizes make shapes vary


def _header(name: str, arr: Tensor) -> bytes:
    """``name NUL dtype.str NUL shape NUL`` (equal dtypes have equal ``str``)."""
    key = (name, arr.dtype, arr.shape)
    try:
        return _HEADERS[key]
    except (KeyError, TypeError):  # TypeError: an unhashable dtype (metadata); not cached
        pass
    header = f"{name}\x00{arr.dtype.str}\x00{arr.shape}\x00".encode()
    with contextlib.suppress(TypeError):
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        _HEADERS[key] = header
    return header


def _elements(arr: Tensor) -> Iterator[bytes]:
    """Length-prefixed UTF-8 (or raw bytes) of each element of an object/str array."""
    for item in arr.ravel().tolist():
        raw = item if isinstance(item, bytes) else str(item).encode("utf-8", "surrogatepass")
        yield len(raw).to_bytes(8, "little")
        yield raw


def digest(inputs: TensorDict) -> str:
    """Hex SHA-256 of the canonical bytes (64 characters): per name in sorted order, the header
    ``name NUL dtype.str NUL shape NUL`` then the values (``tobytes``: C order, any strides)."""
    if len(inputs) == 1:  # the common case in one call: header and values hashed together
        for name, arr in inputs.items():
            if arr.dtype.kind not in "OUS":
                return hashlib.sha256(_header(name, arr) + arr.tobytes()).hexdigest()
    h = hashlib.sha256()
    for name in sorted(inputs) if len(inputs) > 1 else inputs:
        arr = inputs[name]
        h.update(_header(name, arr))
        if arr.dtype.kind in "OUS":
            for part in _elements(arr):
                h.update(part)
        else:
            h.update(arr.tobytes())
    return h.hexdigest()
