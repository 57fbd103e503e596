"""Row encoding: capture modes, truncation to the byte budget, spill-line round trip."""

from __future__ import annotations

import numpy as np
import orjson

from modelport.core.digest import digest
from modelport.tracking.records import PredictionRecord, encode, now, row_from_json, row_to_json


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
    row = encode(record("full", {"input": np.ones((1, 2))}))
    back = row_from_json(row_to_json(row))
    assert back == row
