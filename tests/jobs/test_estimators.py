"""The estimator allow-list and hyperparameter validation."""

from __future__ import annotations

import pytest

from modelport.errors import ValidationFailed
from modelport.jobs import estimators


def test_allow_list_has_both_tasks_and_no_arbitrary_imports() -> None:
    specs = estimators.available()
    assert specs["RandomForestClassifier"].task == "classification"
    assert specs["Ridge"].task == "regression"
    with pytest.raises(ValidationFailed, match="unknown estimator"):
        estimators.get_spec("sklearn.ensemble:RandomForestClassifier")


@pytest.mark.parametrize("params", [
    {"n_estimators": 0}, {"n_estimators": "ten"}, {"max_depth": -1}, {"bogus": 1},
    {"n_estimators": [1, 2]}, {"criterion": "nope"},
])
def test_invalid_hyperparameters(params: dict[str, object]) -> None:
    spec = estimators.get_spec("RandomForestClassifier")
    with pytest.raises(ValidationFailed):
        estimators.validate_hyperparameters(spec, params)


def test_valid_hyperparameters_build_the_estimator() -> None:
    spec = estimators.get_spec("GradientBoostingRegressor")
    params = estimators.validate_hyperparameters(spec, {"n_estimators": 5, "learning_rate": 0.3,
                                                        "max_depth": None})
    model = estimators.build(spec, params)
    assert model.get_params()["n_estimators"] == 5 and model.get_params()["learning_rate"] == 0.3
