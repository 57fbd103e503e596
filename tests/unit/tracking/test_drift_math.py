"""PSI and KS on known distributions: same data scores low, shifted data high."""

from __future__ import annotations

import numpy as np
import orjson

from modelport.tracking.drift import bin_fractions, compare, feature_verdict, kolmogorov_pvalue, ks, psi
from modelport.tracking.reference import summarize


def test_same_distribution_is_stable() -> None:
    rng = np.random.default_rng(0)
    ref = summarize(rng.normal(0, 1, 5000))
    assert ref is not None
    cur = rng.normal(0, 1, 500)
    p = psi(ref["edges"], ref["fractions"], cur)
    d, pvalue = ks(ref["quantiles"], ref["n"], cur)
    assert p < 0.1 and d < 0.1 and pvalue > 0.01
    assert feature_verdict(p, d, pvalue) == "ok"


def test_shifted_distribution_drifts() -> None:
    rng = np.random.default_rng(1)
    ref = summarize(rng.normal(0, 1, 5000))
    assert ref is not None
    cur = rng.normal(1.0, 1, 500)
    p = psi(ref["edges"], ref["fractions"], cur)
    d, pvalue = ks(ref["quantiles"], ref["n"], cur)
    assert p > 0.25 and d > 0.3 and pvalue < 1e-6
    assert feature_verdict(p, d, pvalue) == "drift"


def test_kolmogorov_pvalue_matches_known_values() -> None:
    # scipy.stats.kstwobign.sf(1.36) ~= 0.049, sf(1.63) ~= 0.0098 (large equal samples)
    n = 1_000_000
    assert abs(kolmogorov_pvalue(1.36 / np.sqrt(n / 2), n, n) - 0.049) < 0.002
    assert abs(kolmogorov_pvalue(1.63 / np.sqrt(n / 2), n, n) - 0.0098) < 0.001
    assert kolmogorov_pvalue(0.0, 10, 10) == 1.0


def test_the_live_histogram_uses_the_reference_bins() -> None:
    """What the console draws: the live fractions over the reference's bins, shifted data to the right."""
    rng = np.random.default_rng(2)
    ref = summarize(rng.normal(0, 1, 5000))
    assert ref is not None
    bins = len(ref["fractions"])
    live = bin_fractions(ref["edges"], bins, rng.normal(2.0, 0.5, 400))
    assert live.shape == (bins,) and abs(float(live.sum()) - 1.0) < 1e-9
    assert float(live[-2:].sum()) > 0.8 > float(np.asarray(ref["fractions"])[-2:].sum())
    rows = [orjson.dumps({"x": [[float(v)] for v in rng.normal(2.0, 0.5, 50)]}).decode() for _ in range(2)]
    feature = compare([{**ref, "name": "x0", "tensor": "x", "column": 0}], 5000, rows)["features"][0]
    assert feature["histogram"]["edges"] == ref["edges"]
    assert feature["histogram"]["reference"] == ref["fractions"]
    assert len(feature["histogram"]["current"]) == bins and feature["histogram"]["current"][-1] > 0.3
