"""LightGBM boosters registered over HTTP answer like ``LGBMClassifier`` on every protocol."""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from modelport.runtime.lightgbm import LightGBMRuntime
from tests.conftest import LiveServer
from tests.fixtures.parity import assert_protocol_parity, register_upload


def test_multiclass_classifier_over_every_protocol(byom_server: LiveServer, byom_headers: dict[str, str],
                                                   tmp_path: Path) -> None:
    x, y = load_wine(return_X_y=True)
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(x, y)
    path = tmp_path / "wine.txt"
    model.booster_.save_model(path)
    r = register_upload(byom_server, byom_headers, "lgb-wine", "lightgbm", path)
    assert r.status_code == 201, r.text
    expected = {"predictions": model.predict(x).astype(np.int64), "probabilities": model.predict_proba(x)}
    assert_protocol_parity(byom_server, byom_headers, "lgb-wine", x, expected)


def test_binary_classifier_over_every_protocol(byom_server: LiveServer, byom_headers: dict[str, str],
                                               tmp_path: Path) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(x, y)
    path = tmp_path / "bc.txt"
    model.booster_.save_model(path)
    r = register_upload(byom_server, byom_headers, "lgb-bc", "lightgbm", path)
    assert r.status_code == 201, r.text
    expected = {"predictions": model.predict(x).astype(np.int64), "probabilities": model.predict_proba(x)}
    assert_protocol_parity(byom_server, byom_headers, "lgb-bc", x, expected)


def test_regressor_answers_predictions(tmp_path: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    model = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(x, y)
    path = tmp_path / "reg.txt"
    model.booster_.save_model(path)
    runtime = LightGBMRuntime(path)
    runtime.load()
    out = runtime.predict({"input": x})
    assert set(out) == {"predictions"}
    np.testing.assert_array_equal(out["predictions"], model.predict(x))


def test_missing_library_names_the_extra(byom_server: LiveServer, byom_headers: dict[str, str],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    path = tmp_path / "bc.txt"
    lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(x, y).booster_.save_model(path)
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # what Python does when a package is absent
    r = register_upload(byom_server, byom_headers, "lgb-missing", "lightgbm", path)
    assert r.status_code == 400, r.text
    assert "pip install 'modelport[lightgbm]'" in r.json()["detail"]
