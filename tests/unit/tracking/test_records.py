"""Row encoding: capture modes, truncation to the byte budget, spill-line round trip, the
SQLite timestamp text, and the input digest pinned to known values."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import orjson
import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from modelport.core.digest import digest
from modelport.tracking.records import (
    COLUMNS,
    PredictionRecord,
    _jsonable,
    encode,
    encode_batch,
    encode_row,
    encode_tensors,
    now,
    row_from_json,
    row_to_json,
    sqlite_timestamp,
)


def record(capture: str, inputs: dict[str, np.ndarray], max_bytes: int = 65_536) -> PredictionRecord:
    return PredictionRecord(
        request_id="r1", ts=now(), model="m", version=1, alias="production", principal="k1",
        protocol="rest", error_code=None, rows=len(next(iter(inputs.values()))), latency_ms=1.5,
        cached=False, inputs=inputs, outputs={"predictions": np.arange(len(next(iter(inputs.values()))))},
        capture=capture, capture_max_bytes=max_bytes,
    )


def test_full_capture_keeps_the_tensors() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.5]])
    row = encode(record("full", {"input": x}))
    assert orjson.loads(row["inputs"]) == {"input": [[1.0, 2.0], [3.0, 4.5]]}
    assert row["inputs_hash"] == digest({"input": x}) and not row["inputs_truncated"]
    assert orjson.loads(row["outputs"]) == {"predictions": [0, 1]}
    assert row["status"] == "ok" and row["error_code"] is None


def test_hash_and_none_capture_store_no_values() -> None:
    x = np.ones((2, 2))
    hashed = encode(record("hash", {"input": x}))
    assert hashed["inputs"] is None and hashed["inputs_hash"] == digest({"input": x})
    nothing = encode(record("none", {"input": x}))
    assert nothing["inputs"] is None and nothing["inputs_hash"] is None
    assert nothing["outputs"] is not None  # outputs are kept for feedback


def test_truncation_keeps_leading_rows_within_budget() -> None:
    x = np.arange(3000, dtype=np.float64).reshape(1000, 3)
    row = encode(record("full", {"input": x}, max_bytes=2000))
    assert row["inputs_truncated"] is True
    assert len(row["inputs"].encode()) <= 2000
    kept = np.asarray(orjson.loads(row["inputs"])["input"])
    assert 0 < len(kept) < 1000
    np.testing.assert_array_equal(kept, x[: len(kept)])


def test_digest_distinguishes_dtype_and_is_stable_for_strings() -> None:
    assert digest({"a": np.array([1, 2])}) != digest({"a": np.array([1.0, 2.0])})
    s1 = np.array(["x", "yz"], dtype=object)
    s2 = np.array(["x", "yz"], dtype=object)
    assert digest({"t": s1}) == digest({"t": s2})
    assert digest({"t": s1}) != digest({"t": np.array(["xy", "z"], dtype=object)})


def test_spill_line_round_trip() -> None:
    row = encode_row(record("full", {"input": np.ones((1, 2))}))
    assert isinstance(row[COLUMNS.index("ts")], datetime)
    assert row_from_json(row_to_json(row)) == row
    # rows encoded for SQLite carry the stamp as text; a spill line gives the UTC datetime back
    (as_text,) = encode_batch([record("full", {"input": np.ones((1, 2))})], sqlite_timestamp)
    back = row_from_json(row_to_json(as_text))
    assert back[COLUMNS.index("ts")].tzinfo is UTC
    assert sqlite_timestamp(back[COLUMNS.index("ts")]) == as_text[COLUMNS.index("ts")]
    assert back[:1] + back[2:] == as_text[:1] + as_text[2:]


def test_spill_line_of_an_earlier_version_is_read() -> None:
    """Lines written before rows became tuples (``orjson`` ``OPT_UTC_Z`` dicts) still replay."""
    line = (b'{"request_id":"r1","ts":"2026-11-22T03:22:55.000120Z","model":"m","version":1,'
            b'"alias":null,"principal":"k1","protocol":"rest","status":"ok","error_code":null,'
            b'"rows":1,"latency_ms":1.5,"cached":false,"inputs":"{\\"input\\":[[1.0]]}",'
            b'"inputs_hash":"ab","inputs_truncated":false,"outputs":null,"trace_id":null}\n')
    row = dict(zip(COLUMNS, row_from_json(line), strict=True))
    assert row["ts"] == datetime(2026, 11, 22, 3, 22, 55, 120, tzinfo=UTC)
    assert row["inputs"] == '{"input":[[1.0]]}' and row["latency_ms"] == 1.5
    with pytest.raises(KeyError):
        row_from_json(b'{"request_id":"r1","ts":"2026-11-22T03:22:55Z"}')


def test_encode_is_the_dict_of_the_row() -> None:
    rec = record("full", {"input": np.ones((1, 2))})
    assert encode(rec) == dict(zip(COLUMNS, encode_row(rec), strict=True))


@pytest.mark.parametrize("ts", [
    datetime(2026, 11, 22, 3, 22, 55, 123456, tzinfo=UTC),
    datetime(2026, 11, 22, 3, 22, 55, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 1, 2, 3, 4, 5, 6),  # naive
    datetime(999, 1, 2, 3, 4, 5, 60, tzinfo=UTC),  # three-digit year
    datetime(2026, 6, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),  # fields as given
])
def test_sqlite_timestamp_is_what_sqlalchemy_binds(ts: datetime) -> None:
    dialect = sqlite.dialect()
    process = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert sqlite_timestamp(ts) == process(ts)


@pytest.mark.parametrize("tensors", [
    {"input": np.arange(6, dtype=np.float64).reshape(2, 3), "b": np.array([True, False])},
    {"predictions": np.array([1, 0]), "probabilities": np.array([[0.25, 0.75], [0.5, 0.5]])},
    {"text": np.array(["héllo", "x"], dtype=object), "n": np.array([1.5, 2.0], dtype=np.float32)},
    {"raw": np.array([b"ab", b"c"]), "i": np.array([[3]], dtype=np.int8)},
])
def test_direct_serialization_equals_the_per_element_one(tensors: dict[str, np.ndarray]) -> None:
    reference = orjson.dumps({k: _jsonable(v) for k, v in tensors.items()},
                             option=orjson.OPT_SERIALIZE_NUMPY).decode()
    assert encode_tensors(tensors, 65_536) == (reference, False)


def test_arrays_not_in_c_order_are_logged_as_their_values() -> None:
    """orjson serialises C-ordered arrays only: a strided or Fortran-ordered output (a batch's
    row slice of one) is logged as the same values, not dropped."""
    full = np.arange(12, dtype=np.float64).reshape(3, 4)
    for odd in (full[:, ::2], np.asfortranarray(full)[1:]):
        assert encode_tensors({"x": odd}, 65_536) == (orjson.dumps({"x": odd.tolist()}).decode(), False)


def test_unserializable_tensors_are_dropped_as_truncated() -> None:
    assert encode_tensors({"x": np.array([1 + 2j])}, 65_536) == (None, True)  # JSON has no complex


def test_digest_is_pinned() -> None:
    """Cache keys and logged hashes must not change between versions (replicas share them)."""
    cases = {
        "01ce06c26e3d086ded7a6b5900258aef021f80396f9b1392a9edee87116b2f05":
            {"input": np.arange(6, dtype=np.float64).reshape(2, 3)},
        "e69096e636ad25bf0babfb525ae7d68fa248f5c67eae07d28c5254da8cfb7d54":
            {"b": np.array([1, 2], dtype=np.int32), "a": np.array([[0.5]], dtype=np.float32)},
        "3b0c6668a5b2b9bdf52a55ef06841efc5ec8cdf6de111f2d6ca764239c4ffe82":
            {"x": np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2]},
        "1199259cdc3b95f5ff01669fb03f393ed1f6d5b0e15799c6ca083bf3f1bafa19":
            {"t": np.array(["héllo", "", "z"], dtype=object)},
        "cc6b840a94a0af17055c5331a68a8445b07d604c9187fe64bac0d9038cee7076":
            {"t": np.array([b"ab", b"c"])},
        "b38b19347b97ceec2931e8e27ae9a6f922d3ed7ce46563791a08097729160fe3":
            {"u": np.array(["ab", "c"])},
        "d32c2870bcf10474ed876ecbb0335ae76df29a017a49c38e9bbfe6f957a36ced": {"s": np.array(3.5)},
        "639919ad3be504c8c641f9d0d4e0bd1d88fa77b658c60e75e3d1079f7835e031":
            {"m": np.array([True, False])},
    }
    for expected, inputs in cases.items():
        assert digest(inputs) == expected, inputs
        assert digest(inputs) == expected, inputs  # the remembered header gives the same bytes


def test_digest_header_memo_stays_bounded_and_exact() -> None:
    from modelport.core import digest as module

    for rows in range(1, module._HEADERS_MAX + 10):  # batch sizes: one shape each
        x = np.zeros((rows, 2))
        h = hashlib.sha256(f"input\x00<f8\x00{x.shape}\x00".encode() + x.tobytes())
        assert digest({"input": x}) == h.hexdigest()
    assert len(module._HEADERS) <= module._HEADERS_MAX
    with_metadata = np.ones(2, dtype=np.dtype(np.float64, metadata={"unit": "cm"}))
    assert digest({"a": with_metadata}) == digest({"a": np.ones(2)})
