"""XGBoost boosters registered over HTTP answer like ``XGBClassifier`` on every protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from modelport.runtime.xgboost import XGBoostRuntime
from tests.conftest import LiveServer
from tests.fixtures.parity import assert_protocol_parity, register_upload


def test_multiclass_classifier_over_every_protocol(byom_server: LiveServer, byom_headers: dict[str, str],
                                                   tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    model = xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(x, y)
    path = tmp_path / "iris.ubj"
    model.save_model(path)
    r = register_upload(byom_server, byom_headers, "xgb-iris", "xgboost", path)
    assert r.status_code == 201, r.text
    assert [o["name"] for o in r.json()["signature"]["outputs"]] == ["predictions", "probabilities"]
    expected = {"predictions": model.predict(x).astype(np.int64),
                "probabilities": model.predict_proba(x).astype(np.float64)}
    assert_protocol_parity(byom_server, byom_headers, "xgb-iris", x, expected)


def test_binary_classifier_json_format(byom_server: LiveServer, byom_headers: dict[str, str],
                                       tmp_path: Path) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    model = xgb.XGBClassifier(n_estimators=6, max_depth=2).fit(x, y)
    path = tmp_path / "bc.json"
    model.save_model(path)
    r = register_upload(byom_server, byom_headers, "xgb-bc", "xgboost", path)
    assert r.status_code == 201, r.text
    expected = {"predictions": model.predict(x).astype(np.int64),
                "probabilities": model.predict_proba(x).astype(np.float64)}
    assert_protocol_parity(byom_server, byom_headers, "xgb-bc", x, expected)


def test_regressor_answers_predictions(tmp_path: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    model = xgb.XGBRegressor(n_estimators=5).fit(x, y)
    path = tmp_path / "reg.ubj"
    model.save_model(path)
    runtime = XGBoostRuntime(path)
    runtime.load()
    out = runtime.predict({"input": x})
    assert set(out) == {"predictions"}
    np.testing.assert_array_equal(out["predictions"], model.predict(x).astype(np.float64))
    assert runtime.infer_signature().inputs[0].shape == [-1, 10]


def test_softmax_objective_still_gives_probabilities(tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    booster = xgb.train({"objective": "multi:softmax", "num_class": 3}, xgb.DMatrix(x, label=y), 4)
    path = tmp_path / "softmax.ubj"
    booster.save_model(path)
    runtime = XGBoostRuntime(path)
    runtime.load()
    out = runtime.predict({"input": x})
    np.testing.assert_array_equal(out["predictions"], booster.predict(xgb.DMatrix(x)).astype(np.int64))
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-6)


def test_not_a_booster_is_a_400(byom_server: LiveServer, byom_headers: dict[str, str],
                                tmp_path: Path) -> None:
    path = tmp_path / "junk.ubj"
    path.write_bytes(b"not a booster at all")
    r = register_upload(byom_server, byom_headers, "xgb-junk", "xgboost", path)
    assert r.status_code == 400 and "xgboost" in r.json()["detail"]
