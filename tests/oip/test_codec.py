"""OIP tensors <-> numpy for every datatype, zero-copy binary decoding, and the input checks."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from modelport.errors import InvalidInput
from modelport.oip import codec

NUMERIC = {
    "BOOL": np.array([[True, False, True], [False, False, True]]),
    "UINT8": np.array([[0, 7, 255], [1, 2, 3]], dtype=np.uint8),
    "UINT16": np.array([[0, 7, 65535], [1, 2, 3]], dtype=np.uint16),
    "UINT32": np.array([[0, 7, 2**32 - 1], [1, 2, 3]], dtype=np.uint32),
    "UINT64": np.array([[0, 7, 2**64 - 1], [1, 2, 3]], dtype=np.uint64),
    "INT8": np.array([[-128, 0, 127], [1, -2, 3]], dtype=np.int8),
    "INT16": np.array([[-32768, 0, 32767], [1, -2, 3]], dtype=np.int16),
    "INT32": np.array([[-(2**31), 0, 2**31 - 1], [1, -2, 3]], dtype=np.int32),
    "INT64": np.array([[-(2**63), 0, 2**63 - 1], [1, -2, 3]], dtype=np.int64),
    "FP16": np.array([[0.5, -1.25, 65504.0], [1, 2, 3]], dtype=np.float16),
    "FP32": np.array([[0.1, -1.5, 3.4e38], [1, 2, 3]], dtype=np.float32),
    "FP64": np.array([[0.1, -1.5, 1e308], [1, 2, 3]], dtype=np.float64),
}


@pytest.mark.parametrize("datatype", sorted(NUMERIC))
def test_binary_round_trip_is_zero_copy(datatype: str) -> None:
    arr = NUMERIC[datatype]
    out_type, raw = codec.binary_data(arr)
    assert out_type == datatype
    body = b"JSON-HEADER" + bytes(raw)
    view = memoryview(body)[len(b"JSON-HEADER"):]
    decoded = codec.decode_binary("x", datatype, [2, 3], view)
    np.testing.assert_array_equal(decoded, arr)
    assert decoded.dtype == arr.dtype
    assert np.shares_memory(decoded, np.frombuffer(body, dtype=np.uint8)), "decoding copied the buffer"


@pytest.mark.parametrize("datatype", sorted(NUMERIC))
def test_json_round_trip_flat_and_nested(datatype: str) -> None:
    arr = NUMERIC[datatype]
    flat = np.asarray(codec.json_data(arr)).tolist()
    assert codec.datatype_of(arr) == datatype
    for data in (flat, arr.tolist()):
        decoded = codec.decode_json("x", datatype, [2, 3], data)
        np.testing.assert_array_equal(decoded, arr)
        assert decoded.dtype == arr.dtype


@pytest.mark.parametrize("datatype", sorted(set(NUMERIC) - {"FP16"}))
def test_grpc_contents_round_trip(datatype: str) -> None:
    arr = NUMERIC[datatype]
    out_type, field, values = codec.contents_values(arr)
    assert (out_type, field) == (datatype, codec.CONTENTS_FIELD[datatype])
    decoded = codec.decode_contents("x", datatype, [2, 3], values)
    np.testing.assert_array_equal(decoded, arr)
    assert decoded.dtype == arr.dtype


def test_bytes_use_4_byte_little_endian_length_prefixes() -> None:
    arr = np.array(["hé", "", "abc"], dtype=object)
    datatype, raw = codec.binary_data(arr)
    assert datatype == "BYTES"
    prefix = struct.Struct("<I").pack
    assert bytes(raw) == prefix(3) + "hé".encode() + prefix(0) + prefix(3) + b"abc"
    decoded = codec.decode_binary("x", "BYTES", [3], raw)
    assert decoded.tolist() == ["hé".encode(), b"", b"abc"]
    assert codec.json_data(arr) == ["hé", "", "abc"]
    assert codec.decode_json("x", "BYTES", [1, 3], [["hé", "", "abc"]]).tolist() == [["hé", "", "abc"]]


def test_numpy_string_arrays_are_bytes_outputs() -> None:
    assert codec.datatype_of(np.array(["a", "bb"])) == "BYTES"
    assert bytes(codec.binary_data(np.array(["a", "bb"]))[1]) == b"\x01\x00\x00\x00a\x02\x00\x00\x00bb"


def test_bf16_arrives_as_float32() -> None:
    values = np.array([1.0, -2.5, 0.15625], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    decoded = codec.decode_binary("x", "BF16", [3], bf16)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, values)
    with pytest.raises(InvalidInput, match="binary"):
        codec.decode_json("x", "BF16", [3], [1.0, 2.0, 3.0])


@pytest.mark.parametrize(("datatype", "shape", "data", "message"), [
    ("FP64", [2, 2], [1, 2, 3], "needs 4 values, got 3"),
    ("FP64", [2, 2], [[1, 2], [3]], "needs 4 values, got 3"),
    ("FP64", [2], ["a", "b"], "must hold numbers"),
    ("INT32", [2], [1.5, 2], "must hold integers"),
    ("UINT8", [2], [1, 256], "out of range for UINT8"),
    ("INT8", [1], [-129], "out of range for INT8"),
    ("UINT64", [1], [-1], "out of range for UINT64"),
    ("UINT64", [1], [2**64], "out of range for UINT64"),
    ("FP16", [1], [70000.0], "out of range for FP16"),
    ("BOOL", [2], [1, 2], "true/false"),
    ("BYTES", [2], ["a", 1], "must hold strings"),
    ("FLOAT", [1], [1.0], "unknown datatype"),
    ("FP32", [-1], [1.0], "non-negative"),
    ("FP32", [1.5], [1.0], "non-negative"),
])
def test_json_input_errors(datatype: str, shape: list, data: list, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        codec.decode_json("x", datatype, shape, data)


@pytest.mark.parametrize(("datatype", "shape", "raw", "message"), [
    ("FP32", [2], b"\x00" * 7, "needs 8 bytes, got 7"),
    ("BOOL", [2], b"\x00\x02", "0 or 1"),
    ("BYTES", [2], struct.pack("<I", 1) + b"a", "shorter than 2 length prefixes"),
    ("BYTES", [1], struct.pack("<I", 5) + b"abc", "longer than the data left"),
    ("BYTES", [1], struct.pack("<I", 1) + b"ab", "1 bytes left"),
    ("BYTES", [10**12], b"", "shorter than"),
    ("BF16", [2], b"\x00" * 3, "needs 4 bytes"),
])
def test_binary_input_errors(datatype: str, shape: list, raw: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        codec.decode_binary("x", datatype, shape, raw)


def test_fp16_needs_raw_contents_over_grpc() -> None:
    with pytest.raises(InvalidInput, match="raw_input_contents"):
        codec.decode_contents("x", "FP16", [1], [1.0])


def test_errors_never_echo_values() -> None:
    with pytest.raises(InvalidInput) as info:
        codec.decode_json("x", "INT8", [2], [1, 123456789])
    assert "123456789" not in str(info.value)
