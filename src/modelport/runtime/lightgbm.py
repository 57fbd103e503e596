"""LightGBM Boosters saved as text (``Booster.save_model`` -> ``.txt``): no pickle, no code.

A classifier (``binary``, ``multiclass``, ``multiclassova``) answers ``predictions`` (class
indices, as ``LGBMClassifier.predict`` for labels 0..k-1) and ``probabilities`` (as
``predict_proba``); anything else answers ``predictions``. The library comes from the
``lightgbm`` extra.
"""

from __future__ import annotations

import numpy as np

from modelport.core.types import TensorDict
from modelport.registry.manifest import Signature
from modelport.runtime.base import Runtime
from modelport.runtime.extras import require
from modelport.runtime.xgboost import class_outputs, classifier_signature

CLASSIFIER_OBJECTIVES = ("binary", "multiclass", "multiclassova")


class LightGBMRuntime(Runtime):
    flavor = "lightgbm"
    suffixes = (".txt", ".lgb")

    def load(self) -> None:
        lgb = require("lightgbm")
        self.booster = lgb.Booster(model_file=str(self.artifact))
        dump = self.booster.dump_model(num_iteration=0)
        objective = str(dump.get("objective", "")).split(" ")[0]
        self.n_classes: int | None = None
        if objective in CLASSIFIER_OBJECTIVES:
            self.n_classes = max(int(dump.get("num_class", 1)), 2)
        self._input = self.signature.inputs[0].name if self.signature else "input"
        self.ready = True

    def predict(self, inputs: TensorDict) -> TensorDict:
        x = inputs[self._input] if self._input in inputs else next(iter(inputs.values()))
        out = np.asarray(self.booster.predict(x))
        if self.n_classes is not None:
            return class_outputs(out)
        return {"predictions": out.astype(np.float64)}

    def infer_signature(self) -> Signature:
        return classifier_signature(int(self.booster.num_feature()), self.n_classes)
