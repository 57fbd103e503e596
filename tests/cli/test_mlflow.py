"""``modelport models import-mlflow DIR`` against a live server stores what a local import stores."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import httpx
import mlflow.sklearn
import pytest
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from modelport.cli import app
from tests.conftest import LiveServer

pytestmark = pytest.mark.timeout(180)
ROW = [5.1, 3.5, 1.4, 0.2]


def _sha(output: str) -> str:
    found = re.search(r"\(sha256 ([0-9a-f]{12})\)", output)
    assert found, output
    return found.group(1)


def test_import_mlflow_remote_matches_local(server: LiveServer, admin_key: str, tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    directory = tmp_path / "iris mlflow"
    with warnings.catch_warnings():  # mlflow: "type hint is inferred as AnyType"
        warnings.simplefilter("ignore", UserWarning)
        mlflow.sklearn.save_model(model, directory, signature=infer_signature(x, model.predict(x)),
                                  pip_requirements=["scikit-learn", "numpy"])
    runner = CliRunner()
    r = runner.invoke(app, ["--url", server.url, "--key", admin_key, "models", "import-mlflow",
                            str(directory), "--alias", "production", "--alias", "staging"])
    assert r.exit_code == 0, r.output
    assert "imported iris-mlflow version 1 from MLflow" in r.stdout  # the directory's name, as locally
    r_local = runner.invoke(app, ["--home", str(tmp_path / "home"), "models", "import-mlflow",
                                  str(directory)])
    assert r_local.exit_code == 0, r_local.output
    assert _sha(r.stdout) == _sha(r_local.stdout)  # the same packed artifact in both modes

    headers = {"Authorization": f"Bearer {admin_key}"}
    shown = httpx.get(f"{server.url}/api/v1/models/iris-mlflow", headers=headers).json()
    assert shown["aliases"]["production"] == shown["aliases"]["staging"] == 1
    answer = httpx.post(f"{server.url}/api/v1/models/iris-mlflow/predict", headers=headers,
                        json={"features": [ROW]}).json()
    assert answer["predictions"] == model.predict([ROW]).tolist()

    (tmp_path / "not-mlflow").mkdir()
    (tmp_path / "not-mlflow" / "README").write_text("no MLmodel here")
    r = runner.invoke(app, ["--url", server.url, "--key", admin_key, "models", "import-mlflow",
                            str(tmp_path / "not-mlflow")])
    assert r.exit_code == 1 and "MLmodel" in r.output and "(400)" in r.output
