"""``python`` models: a user's class with its own pre- and post-processing, served like any flavor.

Parity: the answers over ``/api/v1``, ``/v2`` and gRPC equal the class's own answers on the whole
dataset. Faults in user code (an exception, a hang, ``os._exit``) fail only that model's requests,
the worker comes back, and other models keep serving. Registering code is refused without the
admin scope or without ``MODELPORT_ALLOW_CODE``; a missing requirement is a 400 naming it.
"""

from __future__ import annotations

import importlib.util
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression

from modelport.app import create_app
from tests.conftest import LiveServer, build_test_settings, first_start_admin_headers, mint_admin_headers
from tests.fixtures.parity import assert_protocol_parity, register_upload

SCALED_LOGISTIC = '''
"""Standardise the rows, score them with a linear model, answer labels and probabilities."""
from pathlib import Path

import numpy as np

from modelport import PythonModel


class Model(PythonModel):
    def load(self, path: Path) -> None:
        params = np.load(path / "params.npz")
        self.mean, self.scale = params["mean"], params["scale"]
        self.coef, self.intercept = params["coef"], params["intercept"]

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        z = (inputs["input"] - self.mean) / self.scale          # pre-processing
        scores = z @ self.coef.T + self.intercept
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        proba = e / e.sum(axis=1, keepdims=True)                 # post-processing
        return {"predictions": proba.argmax(axis=1).astype(np.int64), "probabilities": proba}
'''

FAULTY = '''
import os
import time
from pathlib import Path

import numpy as np


class Model:
    def load(self, path: Path) -> None:
        self.mode = (path / "mode.txt").read_text().strip()

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = inputs["input"]
        if (x[:, 0] == -1).any():
            if self.mode == "raise":
                raise ValueError("bad row")
            if self.mode == "hang":
                time.sleep(3)
            if self.mode == "exit":
                os._exit(1)
        return {"predictions": x.sum(axis=1)}
'''

SIGNATURE_2 = {"inputs": [{"name": "input", "dtype": "float64", "shape": [-1, 2]}],
               "outputs": [{"name": "predictions", "dtype": "float64", "shape": [-1]}]}


def write_scaled_logistic(root: Path) -> tuple[Path, np.ndarray]:
    x, y = load_wine(return_X_y=True)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    clf = LogisticRegression(max_iter=2000).fit((x - mean) / scale, y)
    root.mkdir(parents=True)
    (root / "model.py").write_text(SCALED_LOGISTIC)
    np.savez(root / "params.npz", mean=mean, scale=scale, coef=clf.coef_, intercept=clf.intercept_)
    (root / "requirements.txt").write_text("numpy>=1.26\nscikit-learn  # the fit, not the model\n")
    (root / "signature.json").write_text(json.dumps({
        "inputs": [{"name": "input", "dtype": "float64", "shape": [-1, 13]}],
        "outputs": [{"name": "predictions", "dtype": "int64", "shape": [-1]},
                    {"name": "probabilities", "dtype": "float64", "shape": [-1, 3]}]}))
    return root, x


def in_process_answers(root: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    spec = importlib.util.spec_from_file_location("user_model_under_test", root / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Model()
    model.load(root)
    answers: dict[str, np.ndarray] = model.predict({"input": x})
    return answers


def zip_dir(root: Path, dest: Path, prefix: str = "") -> Path:
    assert not dest.resolve().is_relative_to(root.resolve()), "an archive inside its own source grows forever"
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(root.rglob("*")):
            zf.write(path, prefix + path.relative_to(root).as_posix())
    return dest


def tar_dir(root: Path, dest: Path, top: str) -> Path:
    with tarfile.open(dest, "w:gz") as tf:
        tf.add(root, arcname=top)
    return dest


def write_faulty(root: Path, mode: str) -> Path:
    root.mkdir(parents=True)
    (root / "model.py").write_text(FAULTY)
    (root / "mode.txt").write_text(mode)
    (root / "signature.json").write_text(json.dumps(SIGNATURE_2))
    return root


def test_python_model_with_processing_over_every_protocol(
        byom_server: LiveServer, byom_headers: dict[str, str], tmp_path: Path) -> None:
    root, x = write_scaled_logistic(tmp_path / "scaled")
    expected = in_process_answers(root, x)
    r = register_upload(byom_server, byom_headers, "py-wine", "python", zip_dir(root, tmp_path / "m.zip"))
    assert r.status_code == 201, r.text
    assert r.json()["signature"]["inputs"][0]["shape"] == [-1, 13]  # from signature.json
    assert_protocol_parity(byom_server, byom_headers, "py-wine", x, expected)
    # the same directory as a .tar.gz under one top folder, and from a local directory (the CLI's path)
    r = register_upload(byom_server, byom_headers, "py-wine-tar", "python",
                        tar_dir(root, tmp_path / "m.tar.gz", "scaled-logistic"))
    assert r.status_code == 201, r.text
    info = byom_server.run(byom_server.services.models.register_file("py-wine-dir", "python", root))
    assert info.flavor == "python"
    for name in ("py-wine-tar", "py-wine-dir"):
        head = {k: v[:40] for k, v in expected.items()}
        assert_protocol_parity(byom_server, byom_headers, name, x[:40], head)


def post(server: LiveServer, headers: dict[str, str], model: str, rows: list[list[float]],
         **extra: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers={**headers, **extra}, timeout=30) as client:
        return client.post(f"/api/v1/models/{model}/predict", json={"features": rows})


def worker_pids(server: LiveServer, model: str) -> list[int | None]:
    async def pids() -> list[int | None]:
        services = server.services
        loaded = await services.manager.get(await services.registry.resolve(model, None))
        result: list[int | None] = loaded.runner.pids()  # type: ignore[attr-defined]
        return result

    out: list[int | None] = server.run(pids())
    return out


def test_faults_in_user_code_fail_only_their_own_requests(
        byom_server: LiveServer, byom_headers: dict[str, str], tmp_path: Path) -> None:
    for mode in ("raise", "hang", "exit"):
        root = write_faulty(tmp_path / mode, mode)
        archive = zip_dir(root, tmp_path / f"{mode}.zip")
        r = register_upload(byom_server, byom_headers, f"py-{mode}", "python", archive)
        assert r.status_code == 201, r.text
    good = write_faulty(tmp_path / "good", "none")
    assert register_upload(byom_server, byom_headers, "py-good", "python",
                           zip_dir(good, tmp_path / "good.zip")).status_code == 201

    def healthy(model: str) -> None:
        r = post(byom_server, byom_headers, model, [[1.0, 2.0]])
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == [3.0]

    r = post(byom_server, byom_headers, "py-raise", [[-1.0, 0.0]])
    assert r.status_code == 500 and "bad row" not in r.text  # details stay in the log
    healthy("py-raise")
    healthy("py-good")

    r = post(byom_server, byom_headers, "py-hang", [[-1.0, 0.0]], **{"X-Request-Timeout": "0.5"})
    assert r.status_code == 504, r.text
    healthy("py-good")  # while py-hang's worker is still asleep
    healthy("py-hang")  # queued behind the sleeping call, answered once it ends

    before = worker_pids(byom_server, "py-exit")
    r = post(byom_server, byom_headers, "py-exit", [[-1.0, 0.0]])
    assert r.status_code == 503 and r.headers.get("retry-after"), r.text
    healthy("py-good")
    healthy("py-exit")  # the worker came back
    after = worker_pids(byom_server, "py-exit")
    assert after != before and all(after)


def test_refusals(byom_server: LiveServer, byom_headers: dict[str, str], tmp_path: Path) -> None:
    root, _ = write_scaled_logistic(tmp_path / "ok")
    archive = zip_dir(root, tmp_path / "ok.zip")
    writer = byom_server.run(mint_admin_headers(byom_server.services, scopes=["models:write", "models:read"]))
    r = register_upload(byom_server, writer, "py-nonadmin", "python", archive)
    assert r.status_code == 403 and "'admin' scope" in r.json()["detail"]

    needs = write_faulty(tmp_path / "needs", "none")
    (needs / "requirements.txt").write_text("numpy\nsurely-not-installed-pkg>=1\nanother_missing_one\n")
    archive = zip_dir(needs, tmp_path / "needs.zip")
    r = register_upload(byom_server, byom_headers, "py-needs", "python", archive)
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "surely-not-installed-pkg" in detail and "another_missing_one" in detail and "numpy," not in detail

    old = write_faulty(tmp_path / "old", "none")
    (old / "requirements.txt").write_text("numpy<1.0\n")
    r = register_upload(byom_server, byom_headers, "py-old", "python", zip_dir(old, tmp_path / "old.zip"))
    assert r.status_code == 400 and "numpy: installed" in r.json()["detail"]

    nomodel = tmp_path / "nomodel"
    nomodel.mkdir()
    (nomodel / "predict.py").write_text("x = 1\n")
    (nomodel / "notes.txt").write_text("no model.py here\n")
    r = register_upload(byom_server, byom_headers, "py-none", "python", zip_dir(nomodel, tmp_path / "n.zip"))
    assert r.status_code == 400 and "model.py" in r.json()["detail"]

    unsigned = write_faulty(tmp_path / "unsigned", "none")
    (unsigned / "signature.json").unlink()
    r = register_upload(byom_server, byom_headers, "py-unsigned", "python",
                        zip_dir(unsigned, tmp_path / "u.zip"))
    assert r.status_code == 400 and "signature" in r.json()["detail"]
    # a registration signature is enough
    archive = zip_dir(unsigned, tmp_path / "u2.zip")
    r = register_upload(byom_server, byom_headers, "py-signed", "python", archive,
                        signature=json.dumps(SIGNATURE_2))
    assert r.status_code == 201, r.text

    broken = write_faulty(tmp_path / "broken", "none")
    (broken / "model.py").write_text("import os\nos._exit(3)\n")
    r = register_upload(byom_server, byom_headers, "py-broken", "python", zip_dir(broken, tmp_path / "b.zip"))
    assert r.status_code == 400 and "exited" in r.json()["detail"]
    healthy = post(byom_server, byom_headers, "py-signed", [[1.0, 1.0]])
    assert healthy.status_code == 200  # the server survived a model that exits at import


async def test_code_is_refused_unless_the_server_allows_it(tmp_path: Path) -> None:
    settings = build_test_settings(tmp_path / "home")
    assert settings.models.allow_code is False
    headers = await first_start_admin_headers(settings)
    root = write_faulty(tmp_path / "m", "none")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
            r = await client.post("/api/v1/models", data={"name": "py", "flavor": "python"},
                                  files={"file": ("m.zip", zip_dir(root, tmp_path / "m.zip").read_bytes())})
    assert r.status_code == 403
    assert "MODELPORT_ALLOW_CODE=true" in r.json()["detail"]


def test_python_model_base_class_is_published() -> None:
    import modelport

    class Doubler(modelport.PythonModel):
        def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
            return {"predictions": inputs["input"] * 2}

    model = Doubler()
    model.load(Path("."))
    assert model.predict({"input": np.arange(3)})["predictions"].tolist() == [0, 2, 4]
    with pytest.raises(NotImplementedError):
        next(iter(model.stream({}, {})))
    with pytest.raises(TypeError):
        modelport.PythonModel()  # type: ignore[abstract]


def test_zip_with_top_folder_is_accepted(tmp_path: Path) -> None:
    from modelport.runtime.python import model_root

    root = write_faulty(tmp_path / "m", "none")
    archive = zip_dir(root, tmp_path / "top.zip", prefix="my-model/")
    assert (model_root(archive) / "model.py").read_text() == FAULTY
