"""MLflow model directories saved by the real ``mlflow`` package, served without it.

Parity: an MLflow sklearn model and an MLflow xgboost model, uploaded over HTTP, answer over
``/api/v1``, ``/v2`` and gRPC exactly what the estimators answer in process. Refusals: a pickled
sklearn model without ``MODELPORT_ALLOW_PICKLE``, a flavor modelport does not serve, a missing
requirement.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import mlflow.lightgbm
import mlflow.sklearn
import mlflow.xgboost
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.ensemble import RandomForestClassifier
from typer.testing import CliRunner

from modelport.cli import app as cli
from modelport.errors import InvalidInput
from modelport.runtime.mlflow import MlflowRuntime, choose_delegate, read_mlmodel, signature_inputs
from tests.conftest import LiveServer
from tests.fixtures.parity import assert_protocol_parity, register_upload

REQUIREMENTS = ["scikit-learn", "numpy"]
TREES = {"skops_trusted_types": ["sklearn.tree._tree.Tree"]}  # skops asks the saver to vouch for trees


pytestmark = pytest.mark.usefixtures("quiet_mlflow")


def zipped(root: Path, dest: Path, top: str = "") -> Path:
    assert not dest.resolve().is_relative_to(root.resolve()), "an archive inside its own source grows forever"
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(root.rglob("*")):
            zf.write(path, top + path.relative_to(root).as_posix())
    return dest


def test_mlflow_sklearn_over_every_protocol(byom_server: LiveServer, byom_headers: dict[str, str],
                                            tmp_path: Path) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    model = RandomForestClassifier(n_estimators=12, max_depth=5, random_state=0).fit(x, y)
    path = tmp_path / "rf"
    mlflow.sklearn.save_model(model, path, signature=infer_signature(x, model.predict(x)), **TREES)
    assert "sklearn" in read_mlmodel(path)["flavors"]
    archive = zipped(path, tmp_path / "rf.zip", "rf/")
    r = register_upload(byom_server, byom_headers, "mlflow-rf", "mlflow", archive)
    assert r.status_code == 201, r.text
    signature = r.json()["signature"]
    assert signature["inputs"] == [{"name": "input", "dtype": "float64", "shape": [-1, 30]}]
    assert [o["name"] for o in signature["outputs"]] == ["predictions", "probabilities"]
    assert_protocol_parity(byom_server, byom_headers, "mlflow-rf", x,
                           {"predictions": model.predict(x), "probabilities": model.predict_proba(x)})


def test_mlflow_xgboost_with_a_column_schema_over_every_protocol(
        byom_server: LiveServer, byom_headers: dict[str, str], tmp_path: Path) -> None:
    data = load_iris(as_frame=True)
    frame, y = data.data, data.target.to_numpy()
    x = frame.to_numpy()
    model = xgb.XGBClassifier(n_estimators=6, max_depth=3).fit(x, y)
    path = tmp_path / "xgb"
    mlflow.xgboost.save_model(model, path, signature=infer_signature(frame, model.predict(x)),
                              pip_requirements=["xgboost", "numpy"])
    columns = json.loads(read_mlmodel(path)["signature"]["inputs"])
    assert [c["type"] for c in columns] == ["double"] * 4  # a column schema, packed into one tensor
    r = register_upload(byom_server, byom_headers, "mlflow-xgb", "mlflow", zipped(path, tmp_path / "x.zip"))
    assert r.status_code == 201, r.text
    assert r.json()["signature"]["inputs"] == [{"name": "input", "dtype": "float64", "shape": [-1, 4]}]
    expected = {"predictions": model.predict(x).astype(np.int64),
                "probabilities": model.predict_proba(x).astype(np.float64)}
    assert_protocol_parity(byom_server, byom_headers, "mlflow-xgb", x, expected)


def test_mlflow_lightgbm_booster(tmp_path: Path) -> None:
    import lightgbm as lgb

    x, y = load_iris(return_X_y=True)
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lgb.Dataset(x, y), 5)
    path = tmp_path / "lgb"
    mlflow.lightgbm.save_model(booster, path, pip_requirements=["lightgbm"])
    runtime = MlflowRuntime(path)
    runtime.load()
    assert runtime.delegate_flavor == "lightgbm"
    np.testing.assert_array_equal(runtime.predict({"input": x})["probabilities"], booster.predict(x))


def test_pickled_sklearn_needs_the_pickle_opt_in(byom_server: LiveServer, byom_headers: dict[str, str],
                                                 tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)
    path = tmp_path / "pickled"
    mlflow.sklearn.save_model(model, path, serialization_format="cloudpickle", pip_requirements=REQUIREMENTS)
    archive = zipped(path, tmp_path / "p.zip")
    r = register_upload(byom_server, byom_headers, "mlflow-pickled", "mlflow", archive)
    assert r.status_code == 400 and "MODELPORT_ALLOW_PICKLE" in r.json()["detail"]
    runtime = MlflowRuntime(path, options={"allow_pickle": True})
    runtime.load()
    np.testing.assert_array_equal(runtime.predict({"input": x})["predictions"], model.predict(x))


def test_unsupported_flavor_and_missing_requirement(byom_server: LiveServer, byom_headers: dict[str, str],
                                                    tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    path = tmp_path / "base"
    mlflow.sklearn.save_model(RandomForestClassifier(n_estimators=2).fit(x, y), path,
                              pip_requirements=REQUIREMENTS, **TREES)
    keras = tmp_path / "keras"
    shutil.copytree(path, keras)
    (keras / "MLmodel").write_text("flavors:\n  keras:\n    data: data\n  python_function:\n"
                                   "    loader_module: mlflow.tensorflow\n")
    r = register_upload(byom_server, byom_headers, "mlflow-keras", "mlflow", zipped(keras, tmp_path / "k"))
    assert r.status_code == 400
    assert "unsupported MLflow model flavor: keras, python_function" in r.json()["detail"]

    needy = tmp_path / "needy"
    shutil.copytree(path, needy)
    (needy / "requirements.txt").write_text("mlflow==99.0\nscikit-learn==0.1\nno-such-package-here==1.0\n")
    r = register_upload(byom_server, byom_headers, "mlflow-needy", "mlflow", zipped(needy, tmp_path / "n"))
    assert r.status_code == 400
    detail = r.json()["detail"]
    # mlflow itself is not needed to serve; versions are reported, not enforced
    assert "missing: no-such-package-here" in detail and "mlflow" not in detail.replace("no-such", "")
    assert "scikit-learn" not in detail

    empty = tmp_path / "no-mlmodel"
    shutil.copytree(path, empty)
    (empty / "MLmodel").unlink()
    r = register_upload(byom_server, byom_headers, "mlflow-none", "mlflow", zipped(empty, tmp_path / "e.zip"))
    assert r.status_code == 400 and "MLmodel" in r.json()["detail"]


def test_pyfunc_loader_module_maps_onto_a_runtime(tmp_path: Path) -> None:
    (tmp_path / "model.ubj").write_bytes(b"")
    mlmodel = {"flavors": {"python_function": {"loader_module": "mlflow.xgboost", "data": "model.ubj"}}}
    assert choose_delegate(tmp_path, mlmodel) == ("xgboost", tmp_path / "model.ubj")
    with pytest.raises(InvalidInput, match="not in the model directory"):
        choose_delegate(tmp_path, {"flavors": {"onnx": {"data": "../../etc/passwd"}}})


def test_column_schema_with_strings_is_refused() -> None:
    frame = pd.DataFrame({"a": [1.0], "b": ["x"]})
    schema = infer_signature(frame).to_dict()
    with pytest.raises(InvalidInput, match="string"):
        signature_inputs({"signature": schema})


def test_cli_import_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELPORT_LOG_FORMAT", "console")
    monkeypatch.setenv("MODELPORT_DEMO_MODELS", "false")
    x, y = load_iris(return_X_y=True)
    path = tmp_path / "iris forest"
    mlflow.sklearn.save_model(RandomForestClassifier(n_estimators=2).fit(x, y), path,
                              signature=infer_signature(x), pip_requirements=REQUIREMENTS, **TREES)
    runner = CliRunner()
    r = runner.invoke(cli, ["models", "import-mlflow", str(path), "--alias", "production"])
    assert r.exit_code == 0, r.output
    assert "imported iris-forest version 1" in r.output
    r = runner.invoke(cli, ["models", "show", "iris-forest"])
    version = json.loads(r.output)["versions"][0]
    assert version["flavor"] == "mlflow" and version["signature"]["inputs"][0]["shape"] == [-1, 4]
