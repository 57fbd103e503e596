"""Canonical bytes of a tensor dict: the identity of a request's inputs.

The prediction cache keys on it and the prediction log hashes it (``capture=hash``), so two
requests with equal inputs agree whatever protocol carried them. Names are sorted, and dtype and
shape are part of the identity (``[1, 2]`` as int64 and as float64 are different requests).
Object/str arrays are encoded element by element (``tobytes`` of an object array would be
pointers, different on every request).
"""

from __future__ import annotations

import hashlib

import numpy as np

from modelport.core.types import TensorDict


def canonical_parts(inputs: TensorDict) -> list[bytes]:
    parts: list[bytes] = []
    for name in sorted(inputs):
        arr = inputs[name]
        parts.append(f"{name}\x00{arr.dtype.str}\x00{arr.shape}\x00".encode())
        if arr.dtype.kind in "OUS":
            for item in arr.ravel().tolist():
                raw = item if isinstance(item, bytes) else str(item).encode("utf-8", "surrogatepass")
                parts.append(len(raw).to_bytes(8, "little"))
                parts.append(raw)
        else:
            parts.append(np.ascontiguousarray(arr).tobytes())
    return parts


def digest(inputs: TensorDict) -> str:
    """Hex SHA-256 of the canonical bytes (64 characters)."""
    h = hashlib.sha256()
    for part in canonical_parts(inputs):
        h.update(part)
    return h.hexdigest()
