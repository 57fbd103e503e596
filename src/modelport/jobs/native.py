"""How a training job stores its fitted estimator: boosters natively, everything else as skops.

Why: skops trusts only scikit-learn, numpy and scipy types, so an XGBoost or LightGBM estimator
cannot travel as skops; their own formats (XGBoost UBJSON, LightGBM text) hold no code and are
served by the ``xgboost``/``lightgbm`` runtimes, which answer class indices. So a booster
classifier is trained only on labels that already are ``0..k-1`` (anything else is a 400 before
the fit, telling the caller to encode the target).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.errors import InvalidInput

#: estimator name -> (flavor, artifact file name)
NATIVE: dict[str, tuple[str, str]] = {
    "XGBClassifier": ("xgboost", "model.ubj"), "XGBRegressor": ("xgboost", "model.ubj"),
    "LGBMClassifier": ("lightgbm", "model.txt"), "LGBMRegressor": ("lightgbm", "model.txt"),
}
SKOPS = ("sklearn", "model.skops")


def artifact_format(estimator: str) -> tuple[str, str]:
    """The flavor and file name a fitted ``estimator`` is registered with."""
    return NATIVE.get(estimator, SKOPS)


def check_labels(estimator: str, task: str, y: np.ndarray[Any, Any]) -> None:
    """A booster classifier's served labels are class indices: the target must already be 0..k-1."""
    if estimator not in NATIVE or task != "classification":
        return
    classes = np.unique(y)
    if classes.dtype.kind not in "iu" or not np.array_equal(classes, np.arange(len(classes))):
        raise InvalidInput(f"{estimator} is served from its native format, which answers class indices: "
                           "encode the target as integers 0..k-1 (e.g. with a label encoder) first")


def save(model: Any, estimator: str, path: Any) -> None:
    """Write ``model`` in :func:`artifact_format`'s format."""
    flavor, _ = artifact_format(estimator)
    if flavor == "xgboost":
        model.save_model(str(path))
    elif flavor == "lightgbm":
        model.booster_.save_model(str(path))
    else:
        import skops.io as sio

        sio.dump(model, path)
