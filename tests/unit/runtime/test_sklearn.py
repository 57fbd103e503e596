"""The scikit-learn runtime answers exactly what the estimator's own predict/predict_proba give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.ensemble import ExtraTreesClassifier, GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from modelport.runtime.sklearn import ForestProba, LogisticProba, SklearnRuntime


def runtime_for(model: Any, tmp_path: Path) -> SklearnRuntime:
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    runtime = SklearnRuntime(path, None, {"allow_pickle": True})
    runtime.load()
    return runtime


def assert_answers_like_sklearn(runtime: SklearnRuntime, model: Any, x: np.ndarray[Any, Any]) -> None:
    """Random batches of 1, a few, 64 and every row: labels and probabilities equal bit for bit."""
    rng = np.random.default_rng(0)
    for rows in (1, 7, 64, len(x)):
        batch = x[rng.choice(len(x), rows, replace=False)]
        out = runtime.predict({"input": batch})
        assert np.array_equal(out["predictions"], model.predict(batch))
        assert np.array_equal(out["probabilities"], model.predict_proba(batch))
        assert out["probabilities"].flags.c_contiguous  # orjson serialises C-ordered arrays only


FORESTS = [
    ("breast_cancer", lambda: RandomForestClassifier(n_estimators=30, random_state=0)),
    ("iris", lambda: RandomForestClassifier(n_estimators=20, max_depth=4, random_state=1)),
    ("digits", lambda: ExtraTreesClassifier(n_estimators=15, random_state=2)),
]
DATA = {"breast_cancer": load_breast_cancer, "iris": load_iris, "digits": load_digits}


@pytest.mark.parametrize(("dataset", "make"), FORESTS, ids=[d for d, _ in FORESTS])
def test_forest_answers_are_sklearns_bit_for_bit(dataset: str, make: Any, tmp_path: Path) -> None:
    x, y = DATA[dataset](return_X_y=True)
    model = make().fit(x, y)
    runtime = runtime_for(model, tmp_path)
    assert runtime._forest is not None  # the fast path is the one under test
    assert_answers_like_sklearn(runtime, model, x)


def test_string_labels_float32_int_and_fortran_inputs(tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    names = np.asarray(["setosa", "versicolor", "virginica"])[y]
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, names)
    runtime = runtime_for(model, tmp_path)
    for batch in (x[:9].astype(np.float32), np.rint(x[:9]).astype(np.int64), np.asfortranarray(x[:9])):
        out = runtime.predict({"input": batch})
        assert np.array_equal(out["probabilities"], model.predict_proba(batch))
        assert list(out["predictions"]) == list(model.predict(batch))


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # sklearn's own cast
def test_forest_refuses_what_sklearn_refuses(tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    runtime = runtime_for(RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y), tmp_path)
    with pytest.raises(ValueError, match="features"):
        runtime.predict({"input": x[:2, :3]})
    too_big = x[:2].copy()
    too_big[0, 0] = 1e300  # finite in float64, infinite once cast to the trees' float32
    with pytest.raises(ValueError, match="too large"):
        runtime.predict({"input": too_big})


def test_fast_path_only_where_it_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = load_iris(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    fast = ForestProba.for_model(forest)
    assert fast is not None
    # the leaf tables are the trees' own arrays, not copies
    trees = zip(fast.trees, forest.estimators_, strict=True)
    assert all(np.shares_memory(table, est.tree_.value) for (_, table), est in trees)
    multi = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, np.stack([y, y[::-1]], axis=1))
    assert ForestProba.for_model(multi) is None
    assert ForestProba.for_model(GradientBoostingClassifier(n_estimators=5).fit(x, y)) is None
    # a table that no longer matches sklearn (as if a release changed what leaves store): refused
    monkeypatch.setattr(ForestProba, "__call__", lambda self, x: np.zeros((len(x), 3)))
    assert ForestProba.for_model(forest) is None


@pytest.mark.parametrize("make", [lambda: DecisionTreeClassifier(random_state=0),
                                  lambda: LogisticRegression(max_iter=500)], ids=["tree", "logreg"])
def test_other_classifiers_answer_predict_and_proba(make: Any, tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    model = make().fit(x, y)
    out = runtime_for(model, tmp_path).predict({"input": x[:20]})
    assert np.array_equal(out["predictions"], model.predict(x[:20]))
    assert np.array_equal(out["probabilities"], model.predict_proba(x[:20]))


def standardised(dataset: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The dataset scaled to unit variance, so a logistic regression converges in a few steps."""
    x, y = DATA[dataset](return_X_y=True)
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9), y


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris", "digits"])
def test_logistic_answers_are_sklearns_bit_for_bit(dataset: str, tmp_path: Path) -> None:
    x, y = standardised(dataset)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    runtime = runtime_for(model, tmp_path)
    assert runtime._logistic is not None  # the one-pass path is the one under test
    assert_answers_like_sklearn(runtime, model, x)
    far = x[:3] * 1e6  # scores far into saturation
    assert np.array_equal(runtime.predict({"input": far})["probabilities"], model.predict_proba(far))


def test_logistic_string_labels_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = standardised("breast_cancer")
    names = np.asarray(["benign", "malignant"])[y]
    model = LogisticRegression(max_iter=1000).fit(x, names)
    runtime = runtime_for(model, tmp_path)
    assert list(runtime.predict({"input": x[:10]})["predictions"]) == list(model.predict(x[:10]))
    with pytest.raises(ValueError, match="features"):
        runtime.predict({"input": x[:2, :4]})
    # a release that derives the probabilities differently: sklearn's own two calls are used
    wrong = lambda self, x: (self.model.predict(x), np.zeros((len(x), 2)))  # noqa: E731
    monkeypatch.setattr(LogisticProba, "__call__", wrong)
    assert LogisticProba.for_model(model) is None


@pytest.mark.parametrize("dataset", ["breast_cancer", "digits"])
def test_logistic_scores_skip_validation_only_for_plain_float_batches(dataset: str) -> None:
    """Plain float batches take sklearn's own product without its validation, bit for bit; any
    other input reaches ``decision_function``, which validates (and refuses) as it always did."""
    x, y = standardised(dataset)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    fast = LogisticProba.for_model(model)
    assert fast is not None
    for batch in (x[:1], x[:37], np.asfortranarray(x[:9]), x[::3], x[:9].astype(np.float32)):
        assert np.array_equal(fast.scores(batch), model.decision_function(batch))
    calls = []
    real = type(model).decision_function

    def counted(self: Any, batch: Any) -> Any:
        calls.append(batch)
        return real(self, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(model), "decision_function", counted)
        fast.scores(x[:4])
        assert calls == []  # the plain case: no sklearn validation
        ints = np.rint(x[:4]).astype(np.int64)
        assert np.array_equal(fast.scores(ints), real(model, ints))
        nan = x[:2].copy()
        nan[0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            fast.scores(nan)
        with pytest.raises(ValueError, match="features"):
            fast.scores(x[:2, :3])
        assert len(calls) == 3


def test_sparsified_logistic_coefficients_take_sklearns_product(tmp_path: Path) -> None:
    x, y = standardised("iris")
    model = LogisticRegression(max_iter=1000).fit(x, y).sparsify()
    runtime = runtime_for(model, tmp_path)
    assert runtime._logistic is not None and runtime._logistic.coef_t is None
    assert_answers_like_sklearn(runtime, model, x)


def test_a_failing_check_falls_back_to_sklearn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model the fast paths cannot probe (say, a sparsified coefficient matrix a release handles
    differently) still loads, and answers through sklearn's own calls."""
    x, y = load_iris(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    logistic = LogisticRegression(max_iter=500).fit(x, y)

    def broken(self: Any, rows: int = 32) -> Any:
        raise TypeError("cannot build a probe")

    monkeypatch.setattr(ForestProba, "probe", broken)
    monkeypatch.setattr(LogisticProba, "probe", broken)
    for model in (forest, logistic):
        runtime = runtime_for(model, tmp_path)
        assert runtime._forest is None and runtime._logistic is None
        assert_answers_like_sklearn(runtime, model, x)
