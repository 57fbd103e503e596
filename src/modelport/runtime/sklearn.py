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

    def load(self) -> None:
        self.model = load_estimator(self.artifact, bool(self.options.get("allow_pickle", False)))
        if not hasattr(self.model, "predict"):
            raise UnsafeArtifact("artifact is not a scikit-learn estimator (no predict method)")
        self._has_proba = hasattr(self.model, "predict_proba") and hasattr(self.model, "classes_")
        self._input = self.signature.inputs[0].name if self.signature else "input"
        self._forest = _is_single_output_forest(self.model)
        # trees and forests define predict as argmax(predict_proba): one pass gives both
        self._labels_from_proba = self._forest or _is_single_output_tree(self.model)
        self.ready = True

    def predict(self, inputs: TensorDict) -> TensorDict:
        x = inputs[self._input] if self._input in inputs else next(iter(inputs.values()))
        if self._labels_from_proba:
            proba = forest_proba(self.model, x) if self._forest else self.model.predict_proba(x)
            proba = np.asarray(proba, dtype=np.float64)
            labels = self.model.classes_.take(np.argmax(proba, axis=1), axis=0)
            return {"predictions": np.asarray(labels), "probabilities": proba}
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


def _is_single_output_forest(model: Any) -> bool:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    return (type(model) in (RandomForestClassifier, ExtraTreesClassifier)
            and getattr(model, "n_outputs_", 0) == 1 and hasattr(model, "_validate_X_predict"))


def _is_single_output_tree(model: Any) -> bool:
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    single = getattr(model, "n_outputs_", 0) == 1
    return type(model) in (DecisionTreeClassifier, ExtraTreeClassifier) and single


def forest_proba(model: Any, x: Any) -> Any:
    """``predict_proba`` of a forest without joblib's per-call dispatch of one task per tree.

    Same trees, same order of summation, so the same numbers; for a single-row request joblib's
    dispatch costs several times the trees themselves.
    """
    x = model._validate_X_predict(x)
    trees = model.estimators_
    total = trees[0].predict_proba(x, check_input=False)
    for tree in trees[1:]:
        total = total + tree.predict_proba(x, check_input=False)
    return total / len(trees)


def _dtype_name(dtype: np.dtype[Any]) -> str:
    name = dtype.name
    return name if name in {"bool", "int32", "int64", "float32", "float64"} else "int64"
