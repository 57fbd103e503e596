"""XGBoost Boosters saved with ``save_model`` (``.ubj`` binary JSON or ``.json``): no pickle, no code.

A classifier (``binary:logistic``, ``multi:softprob``/``softmax``) answers ``predictions``
(class indices, as ``XGBClassifier.predict``) and ``probabilities`` (one column per class, as
``predict_proba``); anything else answers ``predictions`` (``Booster.inplace_predict``). The
library comes from the ``xgboost`` extra.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.registry.manifest import Signature, TensorSpec
from modelport.runtime.base import Runtime
from modelport.runtime.extras import require

CLASSIFIER_OBJECTIVES = ("binary:logistic", "multi:softprob", "multi:softmax")


def class_outputs(proba: np.ndarray[Any, Any]) -> TensorDict:
    """Labels and probabilities from a booster's raw probabilities, as the sklearn wrappers derive
    them: a binary model gives P(class 1) per row, ``[1 - p, p]`` per row and label ``p > 0.5``."""
    if proba.ndim == 1:
        proba = np.stack([1 - proba, proba], axis=1)
    return {"predictions": np.argmax(proba, axis=1).astype(np.int64),
            "probabilities": np.ascontiguousarray(proba, dtype=np.float64)}


def classifier_signature(n_features: int, n_classes: int | None) -> Signature:
    """``input`` rows in; ``predictions`` (+ ``probabilities`` for a classifier) out."""
    inputs = [TensorSpec(name="input", dtype="float64", shape=[-1, n_features])]
    if n_classes is None:
        return Signature(inputs=inputs, outputs=[TensorSpec(name="predictions", dtype="float64", shape=[-1])])
    return Signature(inputs=inputs, outputs=[
        TensorSpec(name="predictions", dtype="int64", shape=[-1]),
        TensorSpec(name="probabilities", dtype="float64", shape=[-1, n_classes]),
    ])


class XGBoostRuntime(Runtime):
    flavor = "xgboost"
    suffixes = (".ubj", ".json")

    def load(self) -> None:
        xgb = require("xgboost")
        self.booster = xgb.Booster(model_file=str(self.artifact))
        learner = json.loads(self.booster.save_config())["learner"]
        self.objective = str(learner["objective"]["name"])
        self.n_classes: int | None = None
        if self.objective in CLASSIFIER_OBJECTIVES:
            self.n_classes = max(int(learner["learner_model_param"].get("num_class", "0")), 2)
        self._input = self.signature.inputs[0].name if self.signature else "input"
        self.ready = True

    def predict(self, inputs: TensorDict) -> TensorDict:
        x = inputs[self._input] if self._input in inputs else next(iter(inputs.values()))
        if self.objective == "multi:softmax":  # the booster answers labels: ask for probabilities
            raw = self.booster.predict(require("xgboost").DMatrix(x), output_margin=True)
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
            return class_outputs(shifted / shifted.sum(axis=1, keepdims=True))
        out = np.asarray(self.booster.inplace_predict(x, validate_features=False))
        if self.n_classes is not None:
            return class_outputs(out)
        return {"predictions": out.astype(np.float64)}

    def infer_signature(self) -> Signature:
        return classifier_signature(int(self.booster.num_features()), self.n_classes)
