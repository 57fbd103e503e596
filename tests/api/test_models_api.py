"""Registry over HTTP: upload (skops, ONNX), list, show, alias, delete, and the refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier


@pytest.fixture(scope="module")
def tree_bytes() -> bytes:
    x, y = load_iris(return_X_y=True)
    return bytes(sio.dumps(DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)))


def upload(client: httpx.AsyncClient, data: bytes, filename: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/models", files={"file": (filename, io.BytesIO(data))}, data=fields)


async def test_upload_list_show_alias_delete(client: httpx.AsyncClient, tree_bytes: bytes) -> None:
    r = await upload(client, tree_bytes, "tree.skops", name="tree", flavor="sklearn", description="d2")
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["version"] == 1 and v1["signature"]["inputs"][0]["shape"] == [-1, 4]
    assert "artifact_key" not in v1 and len(v1["sha256"]) == 64
    r = await upload(client, tree_bytes, "tree.skops", name="tree", flavor="sklearn", alias="staging")
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["aliases"] == ["latest", "staging"]

    names = [m["name"] for m in (await client.get("/api/v1/models")).json()]
    assert {"iris", "breast-cancer", "diabetes", "tree"} <= set(names)
    detail = (await client.get("/api/v1/models/tree")).json()
    assert detail["aliases"] == {"staging": 2, "latest": 2}
    assert [v["version"] for v in detail["versions"]] == [1, 2]

    r = await client.put("/api/v1/models/tree/aliases/production", json={"version": 1})
    assert r.status_code == 200 and "production" in r.json()["aliases"]
    pred = await client.post("/api/v1/models/tree/predict", json={"features": [5.1, 3.5, 1.4, 0.2]})
    assert pred.json()["version"] == 1

    r = await client.delete("/api/v1/models/tree/versions/1")
    assert r.status_code == 409 and "production" in r.json()["detail"]
    assert (await client.delete("/api/v1/models/tree/aliases/staging")).status_code == 204
    assert (await client.delete("/api/v1/models/tree/versions/2")).status_code == 204
    assert (await client.get("/api/v1/models/tree/versions/2")).status_code == 404
    assert (await client.get("/api/v1/models/tree/versions/production")).json()["version"] == 1


async def test_onnx_upload_and_predict(client: httpx.AsyncClient) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    onx = to_onnx(model, x[:1].astype(np.float32), options={id(model): {"zipmap": False}})
    r = await upload(client, onx.SerializeToString(), "lr.onnx", name="iris-onnx", flavor="onnx")
    assert r.status_code == 201, r.text
    sig = r.json()["signature"]
    assert sig["inputs"][0]["dtype"] == "float32"
    r = await client.post("/api/v1/models/iris-onnx/predict/batch", json={"samples": x[:20].tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["predictions"] == model.predict(x[:20]).tolist()
    np.testing.assert_allclose(body["probabilities"], model.predict_proba(x[:20]), atol=1e-4)


async def test_pickle_refused_by_default(client: httpx.AsyncClient, tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    buf = io.BytesIO()
    joblib.dump(DecisionTreeClassifier().fit(x, y), buf)
    r = await upload(client, buf.getvalue(), "m.joblib", name="pickled", flavor="sklearn")
    assert r.status_code == 400 and "MODELPORT_ALLOW_PICKLE" in r.json()["detail"]
    assert (await client.get("/api/v1/models/pickled")).status_code == 404


@pytest.mark.parametrize("fields, status, needle", [
    ({"name": "../evil", "flavor": "sklearn"}, 400, "invalid model name"),
    ({"name": "ok", "flavor": "tensorflow"}, 400, "unknown flavor"),
    ({"name": "ok", "flavor": "sklearn", "signature": "{not json"}, 400, "signature"),
    ({"name": "ok", "flavor": "sklearn", "signature": json.dumps({"inputs": []})}, 400, "signature.inputs"),
    ({"name": "ok", "flavor": "sklearn", "tags": "[1]"}, 400, "tags"),
])
async def test_bad_uploads(client: httpx.AsyncClient, tree_bytes: bytes, fields: dict[str, str],
                           status: int, needle: str) -> None:
    r = await upload(client, tree_bytes, "t.skops", **fields)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


async def test_garbage_artifact_refused(client: httpx.AsyncClient) -> None:
    r = await upload(client, b"\x00not a model at all", "m.onnx", name="junk", flavor="onnx")
    assert r.status_code == 400 and "could not be loaded" in r.json()["detail"]


async def test_bad_alias_requests(client: httpx.AsyncClient) -> None:
    r = await client.put("/api/v1/models/iris/aliases/production", json={"version": 9})
    assert r.status_code == 404
    r = await client.put("/api/v1/models/iris/aliases/latest", json={"version": 1})
    assert r.status_code == 400
    r = await client.put("/api/v1/models/iris/aliases/production", json={"version": "one"})
    assert r.status_code == 422
    r = await client.put("/api/v1/models/iris/aliases/bad%20alias", json={"version": 1})
    assert r.status_code == 400
