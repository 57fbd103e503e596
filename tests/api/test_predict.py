"""/api/v1 predictions: parity with in-process predictions and the response shape."""

from __future__ import annotations

import httpx
import numpy as np
import skops.io as sio
from sklearn.datasets import load_breast_cancer

from modelport.demo import train_demo_models


async def test_breast_cancer_parity_every_row(client: httpx.AsyncClient, tmp_path) -> None:
    x, _ = load_breast_cancer(return_X_y=True)
    paths = {name: path for name, path, _, _ in train_demo_models(tmp_path)}
    path = paths["breast-cancer"]
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    expected_labels = model.predict(x)
    expected_proba = model.predict_proba(x)

    r = await client.post("/api/v1/models/breast-cancer/predict/batch", json={"samples": x.tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "breast-cancer" and body["version"] == 1
    assert body["predictions"] == expected_labels.tolist()
    np.testing.assert_allclose(body["probabilities"], expected_proba, rtol=0, atol=1e-12)

    # and one row at a time through /predict for a sample of rows
    for i in range(0, len(x), 57):
        r = await client.post("/api/v1/models/breast-cancer/predict", json={"features": x[i].tolist()})
        assert r.status_code == 200
        assert r.json()["predictions"] == [int(expected_labels[i])]


async def test_response_shape(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", json={"features": [5.1, 3.5, 1.4, 0.2]},
                          headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"model", "version", "predictions", "probabilities", "confidence",
                         "latency_ms", "request_id", "prediction", "model_version"}  # one flat row (#19)
    assert body["request_id"] == "abc-123" == r.headers["x-request-id"]
    assert body["predictions"] == [0]
    assert abs(sum(body["probabilities"][0]) - 1) < 1e-9
    assert body["confidence"] == max(body["probabilities"][0])  # one flat row: a scalar (#19)


async def test_regressor_has_no_probabilities(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/diabetes/predict", json={"features": [0.01] * 10})
    assert r.status_code == 200
    body = r.json()
    assert "probabilities" not in body and isinstance(body["predictions"][0], float)
    assert body["prediction"] == body["predictions"][0] and "confidence" not in body
