"""PSI and KS on known distributions: same data scores low, shifted data high."""

from __future__ import annotations

import numpy as np

from modelport.tracking.drift import feature_verdict, kolmogorov_pvalue, ks, psi
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
