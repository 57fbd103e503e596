"""Small samples of real rows drawn from the reference itself never alarm; a real shift does.

Iris has discrete, tied features (petal width takes 22 values), exactly where PSI alone alarmed
on 35 rows. The reference is all 150 rows, as an uploaded training set would be."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from sklearn.datasets import load_iris

from modelport.tracking.drift import MIN_ROWS, compare
from modelport.tracking.reference import build_reference

X = load_iris().data
FEATURES = build_reference(X, "input")


def logged(rows: np.ndarray) -> list[str]:
    """The rows as the prediction log stores them: one request per row."""
    return [orjson.dumps({"input": [row.tolist()]}).decode() for row in rows]


def verdicts(rows: np.ndarray) -> list[str]:
    return [f["verdict"] for f in compare(FEATURES, X.shape[0], logged(rows))["features"]]


@pytest.mark.parametrize("size", [32, 35, 38])
def test_under_the_minimum_is_insufficient_data(size: int) -> None:
    rng = np.random.default_rng(size)
    assert size < MIN_ROWS
    assert verdicts(X[rng.choice(len(X), size, replace=False)]) == ["insufficient_data"] * 4


@pytest.mark.parametrize("size", [50, 60, 80, 120])
def test_samples_of_the_reference_never_drift(size: int) -> None:
    rng = np.random.default_rng(size)
    seen: list[str] = []
    for _ in range(40):
        sample = X[rng.choice(len(X), size, replace=False)]
        seen += verdicts(sample)
    assert "drift" not in seen
    assert seen.count("ok") >= 0.9 * len(seen), {v: seen.count(v) for v in set(seen)}


def test_a_real_shift_still_drifts() -> None:
    rng = np.random.default_rng(7)
    sample = X[rng.choice(len(X), 60, replace=False)].copy()
    sample[:, 2] += 1.5  # petal length, about one standard deviation
    result = verdicts(sample)
    assert result[2] == "drift" and result[0] != "drift"
