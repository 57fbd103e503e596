"""OIP tensors <-> numpy: JSON ``data``, binary buffers (REST extension and gRPC raw contents)
and gRPC typed ``contents``.

Binary and raw buffers become arrays with ``np.frombuffer`` (no copy: the array is a read-only
view of the request body). Every check that protects the server (shape against element count,
buffer sizes, BYTES length prefixes, integer ranges) happens here, before any allocation sized
by the client. Errors name the tensor and never echo its values.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from modelport.core.types import Tensor
from modelport.errors import InvalidInput, ModelError

#: fixed-size OIP datatypes and their little-endian numpy dtypes (BYTES and BF16 are special)
NUMERIC: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"), "UINT16": np.dtype("<u2"), "UINT32": np.dtype("<u4"), "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"), "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"), "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
}
DATATYPES = frozenset({*NUMERIC, "BYTES", "BF16"})

#: registry signature dtype -> OIP datatype (model metadata)
SIGNATURE_DATATYPES: dict[str, str] = {
    "bool": "BOOL", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64",
    "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64",
    "float16": "FP16", "float32": "FP32", "float64": "FP64", "bytes": "BYTES", "str": "BYTES",
}

#: OIP datatype -> the gRPC ``InferTensorContents`` field that carries it (FP16/BF16: raw only)
CONTENTS_FIELD: dict[str, str] = {
    "BOOL": "bool_contents",
    "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents", "INT64": "int64_contents",
    "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}

MAX_DIMS = 16
_LENGTH = struct.Struct("<I")


# ----------------------------------------------------------------------------- shapes, types
def check_shape(name: str, shape: Sequence[Any]) -> tuple[int, ...]:
    if not isinstance(shape, Sequence) or isinstance(shape, str | bytes) or len(shape) > MAX_DIMS:
        raise InvalidInput(f"input {name!r}: shape must be a list of at most {MAX_DIMS} integers")
    dims = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise InvalidInput(f"input {name!r}: shape dimensions must be non-negative integers")
        dims.append(int(d))
    return tuple(dims)


def check_datatype(name: str, datatype: str) -> str:
    if datatype not in DATATYPES:
        known = ", ".join(sorted(DATATYPES))
        raise InvalidInput(f"input {name!r}: unknown datatype {str(datatype)[:16]!r}; use one of {known}")
    return datatype


def datatype_of(arr: Tensor) -> str:
    """The OIP datatype of an output array (strings and objects travel as BYTES)."""
    kind = arr.dtype.kind
    if kind in "OUS":
        return "BYTES"
    if kind == "b":
        return "BOOL"
    for datatype, dtype in NUMERIC.items():
        if dtype.kind == kind and dtype.itemsize == arr.dtype.itemsize:
            return datatype
    raise ModelError(f"model output of dtype {arr.dtype} has no OIP datatype")


def _size_mismatch(name: str, shape: tuple[int, ...], count: int) -> InvalidInput:
    return InvalidInput(f"input {name!r}: shape {list(shape)} needs {math.prod(shape)} values, got {count}")


# ------------------------------------------------------------------------------ BYTES tensors
def serialize_bytes(values: Iterable[Any]) -> bytes:
    """Each element as a 4-byte little-endian length followed by its bytes (str -> UTF-8)."""
    parts: list[bytes] = []
    for value in values:
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        parts.append(_LENGTH.pack(len(raw)))
        parts.append(raw)
    return b"".join(parts)


def deserialize_bytes(name: str, buffer: bytes | memoryview, count: int) -> Tensor:
    view = memoryview(buffer)
    if count * _LENGTH.size > len(view):
        raise InvalidInput(f"input {name!r}: BYTES data is shorter than {count} length prefixes")
    out = np.empty(count, dtype=object)
    offset = 0
    for i in range(count):
        if offset + _LENGTH.size > len(view):
            raise InvalidInput(f"input {name!r}: BYTES data ends before element {i}")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        if offset + length > len(view):
            raise InvalidInput(f"input {name!r}: BYTES element {i} is longer than the data left")
        out[i] = bytes(view[offset:offset + length])
        offset += length
    if offset != len(view):
        raise InvalidInput(f"input {name!r}: {len(view) - offset} bytes left after {count} BYTES elements")
    return out


# ------------------------------------------------------------------------------------ decode
def decode_binary(name: str, datatype: str, shape: Sequence[Any], buffer: bytes | memoryview) -> Tensor:
    """A tensor from its raw little-endian bytes (zero-copy for fixed-size datatypes)."""
    dims = check_shape(name, shape)
    count = math.prod(dims)
    check_datatype(name, datatype)
    if datatype == "BYTES":
        return deserialize_bytes(name, buffer, count).reshape(dims)
    if datatype == "BF16":
        if len(buffer) != 2 * count:
            raise InvalidInput(
                f"input {name!r}: shape {list(dims)} of BF16 needs {2 * count} bytes, got {len(buffer)}"
            )
        bits = np.frombuffer(buffer, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(dims)
    dtype = NUMERIC[datatype]
    if len(buffer) != count * dtype.itemsize:
        raise InvalidInput(
            f"input {name!r}: shape {list(dims)} of {datatype} needs {count * dtype.itemsize} bytes, "
            f"got {len(buffer)}"
        )
    if datatype == "BOOL" and count and np.frombuffer(buffer, dtype=np.uint8).max() > 1:
        raise InvalidInput(f"input {name!r}: BOOL bytes must be 0 or 1")
    return np.frombuffer(buffer, dtype=dtype).reshape(dims)


def _flatten(data: Any, out: list[Any]) -> None:
    if isinstance(data, list):
        for item in data:
            _flatten(item, out)
    else:
        out.append(data)


def _cast_numbers(name: str, datatype: str, arr: Tensor) -> Tensor:
    target = NUMERIC[datatype]
    if arr.dtype.kind not in "biuf":
        raise InvalidInput(f"input {name!r}: {datatype} data must hold numbers")
    if target.kind == "b":
        if arr.dtype.kind != "b" and not np.isin(arr, (0, 1)).all():
            raise InvalidInput(f"input {name!r}: BOOL data must be true/false")
    elif target.kind in "iu" and arr.size:
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (np.mod(arr, 1) == 0).all()):
            raise InvalidInput(f"input {name!r}: {datatype} data must hold integers")
        info = np.iinfo(target)
        if arr.min() < info.min or arr.max() > info.max:
            raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}")
    elif target.kind == "f" and arr.size and target.itemsize < arr.dtype.itemsize:
        finite = arr[np.isfinite(arr)]
        if finite.size and np.abs(finite).max() > np.finfo(target).max:
            raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}")
    return arr.astype(target, copy=False)


def decode_json(name: str, datatype: str, shape: Sequence[Any], data: Any) -> Tensor:
    """A tensor from OIP JSON ``data``, flat (row-major) or nested."""
    dims = check_shape(name, shape)
    check_datatype(name, datatype)
    count = math.prod(dims)
    if datatype == "BF16":
        raise InvalidInput(f"input {name!r}: BF16 tensors travel only as binary data")
    flat: list[Any] = []
    _flatten(data, flat)
    if len(flat) != count:
        raise _size_mismatch(name, dims, len(flat))
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise InvalidInput(f"input {name!r}: BYTES data must hold strings")
        arr = np.empty(count, dtype=object)
        arr[:] = flat
        return arr.reshape(dims)
    kinds = {type(v) for v in flat}
    if not kinds <= {int, float, bool}:
        raise InvalidInput(f"input {name!r}: {datatype} data must hold numbers")
    target = NUMERIC[datatype]
    if target.kind in "iu" and float not in kinds:
        # straight from Python ints: exact for all 64 bits, and numpy refuses out-of-range values
        return _exact(name, datatype, flat).reshape(dims)
    try:
        arr = np.asarray(flat, dtype=np.float64 if target.kind == "f" or float in kinds else None)
    except OverflowError:
        raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}") from None
    return _cast_numbers(name, datatype, arr).reshape(dims)


def _exact(name: str, datatype: str, values: Sequence[Any]) -> Tensor:
    try:
        return np.array(values, dtype=NUMERIC[datatype])
    except OverflowError:
        raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}") from None


def decode_contents(name: str, datatype: str, shape: Sequence[Any], values: Sequence[Any]) -> Tensor:
    """A tensor from a gRPC typed contents field (already the right Python type per element)."""
    dims = check_shape(name, shape)
    check_datatype(name, datatype)
    count = math.prod(dims)
    if datatype not in CONTENTS_FIELD:
        raise InvalidInput(f"input {name!r}: {datatype} tensors travel only in raw_input_contents")
    if len(values) != count:
        raise _size_mismatch(name, dims, len(values))
    if datatype == "BYTES":
        arr = np.empty(count, dtype=object)
        arr[:] = list(values)
        return arr.reshape(dims)
    # the contents field already has the element type of the datatype; only ranges can be wrong
    # (INT8 values travel in int32 fields)
    return _exact(name, datatype, values).reshape(dims)


# ------------------------------------------------------------------------------------ encode
def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def json_data(arr: Tensor) -> Any:
    """Flat row-major ``data`` for a JSON response (numpy arrays are encoded by orjson)."""
    if datatype_of(arr) == "BYTES":
        return [_as_text(v) for v in arr.reshape(-1)]
    return np.ascontiguousarray(arr).reshape(-1)


def binary_data(arr: Tensor) -> tuple[str, bytes | memoryview]:
    """``(datatype, raw bytes)``; fixed-size tensors are a view of the array, not a copy."""
    datatype = datatype_of(arr)
    if datatype == "BYTES":
        return datatype, serialize_bytes(arr.reshape(-1))
    little = np.ascontiguousarray(arr.reshape(-1), dtype=arr.dtype.newbyteorder("<"))
    return datatype, little.view(np.uint8).data


def contents_values(arr: Tensor) -> tuple[str, str, list[Any]]:
    """``(datatype, contents field, values)`` for gRPC typed contents."""
    datatype = datatype_of(arr)
    field = CONTENTS_FIELD.get(datatype)
    if field is None:
        raise ModelError(f"{datatype} outputs travel only in raw_output_contents")
    flat = arr.reshape(-1)
    if datatype == "BYTES":
        return datatype, field, [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in flat]
    return datatype, field, flat.tolist()
