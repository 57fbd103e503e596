"""The estimators a training job may use, and validation of their hyperparameters.

Only allow-listed classes can be built (a job never imports a name a client sends). The
hyperparameters are checked before the job is queued: unknown names against
``get_params()``, and types/ranges with scikit-learn's own parameter constraints
(``_validate_params``), so a typo is a 422 at submit time, not a failed job minutes later.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Literal

from modelport.errors import ValidationFailed

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class EstimatorSpec:
    name: str
    path: str  # "module:Class"
    task: Task

    def cls(self) -> Any:
        module, _, attr = self.path.partition(":")
        return getattr(importlib.import_module(module), attr)


_SKLEARN: list[tuple[str, str, Task]] = [
    ("RandomForestClassifier", "sklearn.ensemble:RandomForestClassifier", "classification"),
    ("ExtraTreesClassifier", "sklearn.ensemble:ExtraTreesClassifier", "classification"),
    ("GradientBoostingClassifier", "sklearn.ensemble:GradientBoostingClassifier", "classification"),
    ("HistGradientBoostingClassifier", "sklearn.ensemble:HistGradientBoostingClassifier",
     "classification"),
    ("LogisticRegression", "sklearn.linear_model:LogisticRegression", "classification"),
    ("DecisionTreeClassifier", "sklearn.tree:DecisionTreeClassifier", "classification"),
    ("KNeighborsClassifier", "sklearn.neighbors:KNeighborsClassifier", "classification"),
    ("GaussianNB", "sklearn.naive_bayes:GaussianNB", "classification"),
    ("RandomForestRegressor", "sklearn.ensemble:RandomForestRegressor", "regression"),
    ("ExtraTreesRegressor", "sklearn.ensemble:ExtraTreesRegressor", "regression"),
    ("GradientBoostingRegressor", "sklearn.ensemble:GradientBoostingRegressor", "regression"),
    ("HistGradientBoostingRegressor", "sklearn.ensemble:HistGradientBoostingRegressor", "regression"),
    ("LinearRegression", "sklearn.linear_model:LinearRegression", "regression"),
    ("Ridge", "sklearn.linear_model:Ridge", "regression"),
    ("Lasso", "sklearn.linear_model:Lasso", "regression"),
    ("ElasticNet", "sklearn.linear_model:ElasticNet", "regression"),
    ("DecisionTreeRegressor", "sklearn.tree:DecisionTreeRegressor", "regression"),
    ("KNeighborsRegressor", "sklearn.neighbors:KNeighborsRegressor", "regression"),
]
_OPTIONAL: list[tuple[str, str, Task]] = [
    ("XGBClassifier", "xgboost:XGBClassifier", "classification"),
    ("XGBRegressor", "xgboost:XGBRegressor", "regression"),
    ("LGBMClassifier", "lightgbm:LGBMClassifier", "classification"),
    ("LGBMRegressor", "lightgbm:LGBMRegressor", "regression"),
]
JSONScalar = str | int | float | bool | None


def available() -> dict[str, EstimatorSpec]:
    """The allow-list: scikit-learn always, xgboost/lightgbm only when importable."""
    specs = {name: EstimatorSpec(name, path, task) for name, path, task in _SKLEARN}
    for name, path, task in _OPTIONAL:
        if importlib.util.find_spec(path.partition(":")[0]) is not None:
            specs[name] = EstimatorSpec(name, path, task)
    return specs


def get_spec(name: str) -> EstimatorSpec:
    specs = available()
    if name not in specs:
        raise ValidationFailed(
            f"unknown estimator {name[:64]!r}; choose one of: {', '.join(sorted(specs))}"
        )
    return specs[name]


def _type_ok(default: Any, value: Any) -> bool:
    """Fallback check for estimators without scikit-learn's parameter constraints."""
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default))


def validate_hyperparameters(spec: EstimatorSpec, params: dict[str, Any]) -> dict[str, Any]:
    """Raise ``ValidationFailed`` (422) unless ``params`` can build ``spec``'s estimator."""
    for key, value in params.items():
        if not isinstance(value, JSONScalar):
            raise ValidationFailed(f"hyperparameter {key[:64]!r}: only numbers, strings, booleans "
                                   "and null are accepted")
    cls = spec.cls()
    defaults = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValidationFailed(
            f"{spec.name} has no hyperparameter(s) {', '.join(repr(k[:64]) for k in unknown[:5])}; "
            f"valid: {', '.join(sorted(defaults))}"
        )
    estimator = cls(**params)
    validate = getattr(estimator, "_validate_params", None)
    # xgboost/lightgbm inherit sklearn's validator without declaring any constraints for it (#18)
    if callable(validate) and hasattr(estimator, "_parameter_constraints"):
        try:
            validate()
        except (ValueError, TypeError) as exc:
            raise ValidationFailed(f"{spec.name}: {str(exc)[:500]}") from None
    else:
        for key, value in params.items():
            if not _type_ok(defaults[key], value):
                raise ValidationFailed(f"{spec.name}: hyperparameter {key!r} has the wrong type")
    return dict(params)


def build(spec: EstimatorSpec, params: dict[str, Any]) -> Any:
    return spec.cls()(**params)
