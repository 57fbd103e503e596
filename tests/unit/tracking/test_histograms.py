"""The console's drift charts: the live histogram over the reference's own bins."""

from __future__ import annotations

import numpy as np
import orjson

from modelport.tracking.histograms import add_histograms, live_fractions, tensor_columns
from modelport.tracking.reference import summarize


def test_live_fractions_use_the_reference_bins() -> None:
    rng = np.random.default_rng(2)
    ref = summarize(rng.normal(0, 1, 5000))
    assert ref is not None
    bins = len(ref["fractions"])
    live = live_fractions(ref["edges"], bins, rng.normal(2.0, 0.5, 400))
    assert len(live) == bins and abs(sum(live) - 1.0) < 1e-5
    assert sum(live[-2:]) > 0.8 > sum(ref["fractions"][-2:])  # shifted right: the top bins fill up


def test_each_feature_result_gets_its_histogram() -> None:
    rng = np.random.default_rng(3)
    reference = []
    for column in range(2):
        summary = summarize(rng.normal(column, 1, 2000))
        assert summary is not None
        reference.append({**summary, "name": f"x{column}", "tensor": "x", "column": column})
    logged = [orjson.dumps({"x": rng.normal(0, 1, (5, 2)).tolist()}).decode() for _ in range(20)]
    logged += [None, orjson.dumps({"other": [1.0]}).decode()]
    results = [{"feature": "x0"}, {"feature": "x1"}, {"feature": "unknown"}]
    add_histograms(results, reference, logged)
    for i in range(2):
        hist = results[i]["histogram"]
        assert hist["edges"] == reference[i]["edges"] and hist["reference"] == reference[i]["fractions"]
        assert len(hist["current"]) == len(hist["reference"]) and abs(sum(hist["current"]) - 1) < 1e-5
    assert "histogram" not in results[2]
    # x1's live values (mean 0) sit left of its reference (mean 1)
    assert sum(results[1]["histogram"]["current"][:5]) > sum(reference[1]["fractions"][:5])


def test_inconsistent_or_unparseable_tensors_give_no_matrix() -> None:
    rows = [orjson.dumps({"x": [[1.0, 2.0]]}).decode(), orjson.dumps({"x": [[1.0, 2.0, 3.0]]}).decode()]
    assert tensor_columns(rows, "x") is None
    assert tensor_columns([orjson.dumps({"x": "text"}).decode()], "x") is None
    single = tensor_columns([orjson.dumps({"x": 4.0}).decode()], "x")
    assert single is not None and single.shape == (1, 1)
