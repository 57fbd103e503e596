"""scikit-learn models from skops (safe default) or joblib/pickle files (opt-in).

Classifiers answer ``predictions`` (labels) and ``probabilities`` when the estimator has
``predict_proba``; regressors answer ``predictions``. skops files are loaded trusting only
types from scikit-learn, numpy and scipy, so a crafted file cannot run arbitrary code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.errors import UnsafeArtifact
from modelport.registry.manifest import Signature, TensorSpec
from modelport.runtime.base import Runtime

_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


def is_skops_file(path: Path) -> bool:
    """skops files are zip archives with a schema.json; pickles are not zips."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return "schema.json" in zf.namelist()


def load_skops(path: Path) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if refused:
        raise UnsafeArtifact(f"skops file references untrusted types: {', '.join(refused[:5])}")
    return sio.load(path, trusted=untrusted)


def load_estimator(path: Path, allow_pickle: bool) -> Any:
    if is_skops_file(path):
        return load_skops(path)
    if not allow_pickle:
        raise UnsafeArtifact(
            "pickle/joblib artifacts can run code when loaded; upload a .skops file or set "
            "MODELPORT_ALLOW_PICKLE=true"
        )
    import joblib

    return joblib.load(path)


class SklearnRuntime(Runtime):
    flavor = "sklearn"
    suffixes = (".skops", ".joblib", ".pkl", ".pickle")
    fork_safe = True  # workers share one loaded copy (runtime/zygote.py, #18)

    def load(self) -> None:
        self.model = load_estimator(self.artifact, bool(self.options.get("allow_pickle", False)))
        if not hasattr(self.model, "predict"):
            raise UnsafeArtifact("artifact is not a scikit-learn estimator (no predict method)")
        self._has_proba = hasattr(self.model, "predict_proba") and hasattr(self.model, "classes_")
        self._input = self.signature.inputs[0].name if self.signature else "input"
        self._forest = ForestProba.for_model(self.model)
        # trees and forests define predict as argmax(predict_proba): one pass gives both
        self._labels_from_proba = self._forest is not None or _is_single_output_tree(self.model)
        self._logistic = LogisticProba.for_model(self.model)
        self.ready = True

    def predict(self, inputs: TensorDict) -> TensorDict:
        x = inputs[self._input] if self._input in inputs else next(iter(inputs.values()))
        if self._labels_from_proba:
            proba = self._forest(x) if self._forest is not None else self.model.predict_proba(x)
            proba = np.asarray(proba, dtype=np.float64)
            labels = self.model.classes_.take(np.argmax(proba, axis=1), axis=0)
            return {"predictions": np.asarray(labels), "probabilities": proba}
        if self._logistic is not None:
            labels, proba = self._logistic(x)
            return {"predictions": np.asarray(labels), "probabilities": np.asarray(proba, dtype=np.float64)}
        out: TensorDict = {"predictions": np.asarray(self.model.predict(x))}
        if self._has_proba:
            out["probabilities"] = np.asarray(self.model.predict_proba(x), dtype=np.float64)
        return out

    def infer_signature(self) -> Signature:
        n = getattr(self.model, "n_features_in_", None)
        shape = [-1, int(n)] if n else [-1, -1]
        outputs: list[TensorSpec] = []
        if hasattr(self.model, "classes_"):
            classes = np.asarray(self.model.classes_)
            dtype = "str" if classes.dtype.kind in "OUS" else _dtype_name(classes.dtype)
            outputs.append(TensorSpec(name="predictions", dtype=dtype, shape=[-1]))
            if self._has_proba:
                outputs.append(
                    TensorSpec(name="probabilities", dtype="float64", shape=[-1, len(classes)])
                )
        else:
            outputs.append(TensorSpec(name="predictions", dtype="float64", shape=[-1]))
        return Signature(inputs=[TensorSpec(name="input", dtype="float64", shape=shape)],
                         outputs=outputs)


def _is_single_output_tree(model: Any) -> bool:
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    single = getattr(model, "n_outputs_", 0) == 1
    return type(model) in (DecisionTreeClassifier, ExtraTreeClassifier) and single


class ForestProba:
    """``predict_proba`` of a single-output random forest (or extra trees): one leaf lookup per tree.

    Why: sklearn's forest dispatches one joblib task per tree and each tree validates its input
    and builds its output again; for the small batches a server sees, that overhead is several
    times the trees' own work, and it is Python holding the GIL the event loop needs. Since
    scikit-learn 1.4 a classification tree's ``predict_proba`` is the class fractions stored in
    the leaf a row reaches (``tree_.value``), so each tree here is ``tree_.apply`` (sklearn's own
    Cython traversal) and a ``take`` from that table, summed in sklearn's order and divided as it
    does: the same numbers, bit for bit. :meth:`for_model` checks that on a probe batch and
    returns None (sklearn's path then) if they ever differ. The tables are views of the trees'
    own arrays (single output: ``value[:, 0, :]`` is contiguous), so they cost no memory.

    The input is cast to float32 as sklearn does; anything unexpected (wrong width, a value that
    overflows float32, a non-array) goes to the forest's public ``predict_proba``, which raises
    the error sklearn would.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.n_features = int(model.n_features_in_)
        n = int(model.n_classes_)
        self.trees = [(est.tree_, np.ascontiguousarray(est.tree_.value[:, 0, :n], dtype=np.float64))
                      for est in model.estimators_]

    @classmethod
    def for_model(cls, model: Any) -> ForestProba | None:
        """The fast path for ``model`` when it is a single-output forest and agrees with sklearn."""
        from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

        if (type(model) not in (RandomForestClassifier, ExtraTreesClassifier)
                or getattr(model, "n_outputs_", 0) != 1 or not getattr(model, "estimators_", None)):
            return None
        try:
            fast = cls(model)
            probe = fast.probe()
            same = np.array_equal(fast(probe), model.predict_proba(probe))
        except Exception:  # noqa: BLE001 (an optional fast path never fails a load: sklearn's path then)
            return None
        return fast if same else None

    def probe(self, rows: int = 32) -> np.ndarray[Any, Any]:
        """Rows whose features sit on the trees' own split thresholds, so they reach many leaves.

        Vectorised: a large forest has millions of nodes, and this runs at every load.
        """
        features = np.concatenate([tree.feature for tree, _ in self.trees])
        thresholds = np.concatenate([tree.threshold for tree, _ in self.trees])
        split = features >= 0  # leaves have feature -2
        order = np.lexsort((thresholds[split], features[split]))
        features, thresholds = features[split][order], thresholds[split][order]
        wanted = np.arange(self.n_features)
        starts = np.searchsorted(features, wanted, side="left")
        ends = np.searchsorted(features, wanted, side="right")
        out = np.zeros((rows, self.n_features), dtype=np.float64)
        rng = np.random.default_rng(0)
        for f in np.flatnonzero(ends > starts):
            picked = thresholds[np.linspace(starts[f], ends[f] - 1, rows).astype(np.intp)]
            out[:, f] = rng.permutation(picked)
        return out

    def __call__(self, x: Any) -> np.ndarray[Any, Any]:
        x32 = self._prepare(x)
        if x32 is None:  # anything unusual: sklearn's own predict_proba (its validation, its errors)
            return self.model.predict_proba(x)  # type: ignore[no-any-return]
        pairs = iter(self.trees)
        tree, table = next(pairs)
        total: np.ndarray[Any, Any] = table.take(tree.apply(x32), axis=0)
        for tree, table in pairs:
            total += table.take(tree.apply(x32), axis=0)
        total /= len(self.trees)
        return total

    def _prepare(self, x: Any) -> np.ndarray[Any, Any] | None:
        """The float32 rows sklearn would predict on, or None when only sklearn's public
        ``predict_proba`` should see this input (its own validation decides)."""
        if (isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == self.n_features
                and x.dtype.kind in "fiu"):
            with np.errstate(over="ignore"):  # an overflow is refused just below, as sklearn does
                x32 = np.ascontiguousarray(x, dtype=np.float32)
            if np.count_nonzero(np.isfinite(x32)) == x32.size:
                return x32
        return None


class LogisticProba:
    """Labels and probabilities of a ``LogisticRegression`` from one ``decision_function`` pass.

    Why: ``predict`` and ``predict_proba`` each validate the input and compute the scores again;
    for a server's small batches that validation is most of the call, and it holds the GIL the
    event loop needs (a 32-row breast-cancer batch: 394 µs for both calls, 164 µs for this).
    Both answers follow from the scores exactly as scikit-learn derives them: labels from the
    sign (binary) or the argmax, probabilities from ``expit`` (binary) or ``softmax``.
    :meth:`for_model` compares both with sklearn's own on a probe batch at load and returns None
    (sklearn's two calls then) if a release ever derives them differently.
    """

    def __init__(self, model: Any) -> None:
        from scipy.special import expit
        from sklearn.utils.extmath import softmax

        self.model = model
        self.classes = model.classes_
        # sklearn's dense expression needs dense coefficients (``sparsify()`` makes them sparse)
        self.coef_t = model.coef_.T if type(model.coef_) is np.ndarray else None
        self.intercept = model.intercept_
        self.n_features = int(model.coef_.shape[1])
        self.expit = expit
        self.softmax = softmax

    @classmethod
    def for_model(cls, model: Any) -> LogisticProba | None:
        from sklearn.linear_model import LogisticRegression

        if type(model) is not LogisticRegression or not hasattr(model, "coef_"):
            return None
        try:
            fast = cls(model)
            probe = fast.probe()
            labels, proba = fast(probe)
            same = (np.array_equal(labels, model.predict(probe))
                    and np.array_equal(proba, model.predict_proba(probe))
                    and np.array_equal(fast.scores(probe), model.decision_function(probe)))
        except Exception:  # noqa: BLE001 (an optional fast path never fails a load: sklearn's path then)
            return None
        return fast if same else None

    def probe(self, rows: int = 32) -> np.ndarray[Any, Any]:
        """Rows whose scores run from near zero to saturation, of both signs."""
        rng = np.random.default_rng(0)
        scale = np.geomspace(1e-3, 1e3, rows)[:, None] / max(float(np.abs(self.model.coef_).max()), 1e-12)
        return rng.standard_normal((rows, int(self.model.coef_.shape[1]))) * scale

    def scores(self, x: Any) -> np.ndarray[Any, Any]:
        """``decision_function``: the same product, without its validation for a plain float batch.

        sklearn's validation (``check_array``, dataframe detection, feature checks) cost about
        200 us per call, most of a small batch's time, with the GIL held while the event loop
        waits. A 2-D float array of the fitted width with finite values is what that validation
        passes through unchanged; for it the scores are sklearn's own expression,
        ``X @ coef_.T + intercept_``. Anything else (ints, NaN, a wrong width, a sparse or
        dataframe input) goes to ``decision_function`` itself, errors included.
        """
        if (self.coef_t is not None and type(x) is np.ndarray and x.ndim == 2
                and x.shape[1] == self.n_features and x.dtype.kind == "f"
                and np.count_nonzero(np.isfinite(x)) == x.size):
            scores: np.ndarray[Any, Any] = x @ self.coef_t + self.intercept
            return scores.reshape(-1) if scores.shape[1] == 1 else scores
        return self.model.decision_function(x)  # type: ignore[no-any-return]

    def __call__(self, x: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        scores = self.scores(x)
        if scores.ndim == 1:
            labels = self.classes.take((scores > 0).astype(np.intp), axis=0)
            p = self.expit(scores)
            return labels, np.stack([1 - p, p], axis=1)
        # C order for orjson: sparse coefficients give Fortran-ordered scores
        proba = np.ascontiguousarray(self.softmax(scores, copy=False))
        return self.classes.take(np.argmax(scores, axis=1), axis=0), proba


def _dtype_name(dtype: np.dtype[Any]) -> str:
    name = dtype.name
    return name if name in {"bool", "int32", "int64", "float32", "float64"} else "int64"
