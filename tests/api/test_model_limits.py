"""A key limited to some models sees only those, on every protocol: others answer 404 as if
they did not exist (REST /api/v1, OIP /v2 over HTTP and gRPC, OpenAI /v1), lists hold only them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from modelport.app import create_app
from tests.conftest import LiveServer, mint_admin_headers, serve_in_thread

ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import build_test_settings

    home = tmp_path_factory.mktemp("limits") / "home"
    settings = build_test_settings(home, demo_models=True, demo_text_models=False,
                                   grpc_enabled=True, grpc_port=0)
    with serve_in_thread(create_app(settings)) as live:
        yield live


def key_headers(server: LiveServer, **options: Any) -> dict[str, str]:
    headers: dict[str, str] = server.run(mint_admin_headers(server.services, **options))
    return headers


def test_a_key_limited_to_iris_on_every_protocol(server: LiveServer) -> None:
    iris_only = key_headers(server, scopes=["predict", "models:read"], models=["iris"])
    with httpx.Client(base_url=server.url, headers=iris_only, timeout=30) as http:
        check_iris_only(server, http, iris_only)


def check_iris_only(server: LiveServer, http: httpx.Client, iris_only: dict[str, str]) -> None:

    # /api/v1
    r = http.post("/api/v1/models/iris/predict", json={"features": ROW})
    assert r.status_code == 200, r.text
    r = http.post("/api/v1/models/breast-cancer/predict", json={"features": [0.0] * 30})
    assert r.status_code == 404 and r.json()["code"] == "model_not_found"
    assert [m["name"] for m in http.get("/api/v1/models").json()] == ["iris"]
    assert http.get("/api/v1/models/breast-cancer").status_code == 404

    # /v2 over HTTP
    tensor = {"name": "input", "shape": [1, 4], "datatype": "FP64", "data": ROW}
    r = http.post("/v2/models/iris/infer", json={"inputs": [tensor]})
    assert r.status_code == 200, r.text
    over_rest = {o["name"]: o["data"] for o in r.json()["outputs"]}
    r = http.post("/v2/models/breast-cancer/infer", json={"inputs": [tensor | {"shape": [1, 30],
                                                                               "data": [0.0] * 30}]})
    assert r.status_code == 404
    assert http.get("/v2/models/breast-cancer").status_code == 404
    assert http.post("/v2/repository/index", json={}).status_code == 403  # an admin route
    iris_admin = key_headers(server, scopes=["admin"], models=["iris"])
    r = http.post("/v2/repository/index", json={}, headers=iris_admin)
    assert r.status_code == 200 and {m["name"] for m in r.json()} == {"iris"}

    # /v2 over gRPC
    grpc_headers = {k.lower(): v for k, v in iris_only.items()}
    client = grpcclient.InferenceServerClient(server.grpc_address)
    try:
        x = grpcclient.InferInput("input", [1, 4], "FP64")
        x.set_data_from_numpy(np.array([ROW]))
        answer = client.infer("iris", [x], headers=grpc_headers)
        assert {name: answer.as_numpy(name).ravel().tolist() for name in over_rest} == over_rest
        y = grpcclient.InferInput("input", [1, 30], "FP64")
        y.set_data_from_numpy(np.zeros((1, 30)))
        with pytest.raises(InferenceServerException) as refused:
            client.infer("breast-cancer", [y], headers=grpc_headers)
        assert refused.value.status() == "StatusCode.NOT_FOUND"
        for name in ("breast-cancer", "no-such-model"):  # the same answer as for a missing model
            with pytest.raises(InferenceServerException) as refused:
                client.get_model_metadata(name, headers=grpc_headers)
            assert refused.value.status() == "StatusCode.NOT_FOUND"
            with pytest.raises(InferenceServerException) as refused:
                client.is_model_ready(name, headers=grpc_headers)
            assert refused.value.status() == "StatusCode.NOT_FOUND"
        assert client.is_model_ready("iris", headers=grpc_headers)
    finally:
        client.close()

    # OpenAI /v1
    # /v1/models lists the chat and embedding models a caller may use; of the demo models (all
    # tabular) none, and a model outside the limit is missing from /v1 as from everywhere
    assert http.get("/v1/models").json()["data"] == []
    assert http.get("/v1/models/iris").status_code == 200
    assert http.get("/v1/models/breast-cancer").status_code == 404
    r = http.post("/v1/embeddings", json={"model": "breast-cancer", "input": "hello"})
    assert r.status_code == 404, r.text


def test_an_unlimited_key_still_sees_everything(server: LiveServer) -> None:
    everyone = key_headers(server, scopes=["predict", "models:read"])
    names = {m["name"] for m in httpx.get(f"{server.url}/api/v1/models", headers=everyone).json()}
    assert {"iris", "breast-cancer", "diabetes"} <= names


def test_patterns_aliases_and_uploads(server: LiveServer) -> None:
    writer = key_headers(server, scopes=["models:write", "models:read", "predict"],
                         models=["iris*", "diab?tes"])
    with httpx.Client(base_url=server.url, headers=writer, timeout=30) as http:
        assert {m["name"] for m in http.get("/api/v1/models").json()} == {"iris", "diabetes"}
        r = http.put("/api/v1/models/breast-cancer/aliases/staging", json={"version": 1})
        assert r.status_code == 404
        assert http.put("/api/v1/models/iris/aliases/staging", json={"version": 1}).status_code == 200
        assert http.delete("/api/v1/models/breast-cancer/aliases/production").status_code == 404
        r = http.post("/api/v1/models", data={"name": "fraud", "flavor": "sklearn"},
                      files={"file": ("m.skops", b"not read")})
        assert r.status_code == 403 and "limited" in r.json()["detail"]


def test_keys_cannot_widen_the_limit_of_their_creator(server: LiveServer) -> None:
    limited_admin = key_headers(server, scopes=["admin"], models=["iris*"])
    with httpx.Client(base_url=server.url, headers=limited_admin, timeout=30) as http:
        body = {"name": "k", "scopes": ["predict"], "owner": "admin"}
        assert http.post("/api/v1/keys", json=body).status_code == 403  # no list: every model
        assert http.post("/api/v1/keys", json=body | {"models": ["*"]}).status_code == 403
        assert http.post("/api/v1/keys", json=body | {"models": ["breast-cancer"]}).status_code == 403
        r = http.post("/api/v1/keys", json=body | {"models": ["iris", "iris*"]})
        assert r.status_code == 201 and r.json()["models"] == ["iris", "iris*"]
        assert http.post("/api/v1/keys", json=body | {"models": ["../x"]}).status_code == 400


def test_a_users_limit_binds_its_tokens_and_its_keys(server: LiveServer) -> None:
    admin = key_headers(server, scopes=["admin"])
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/api/v1/users", headers=admin, json={
            "username": "fraud-team", "password": "long-enough-pw", "scopes": ["predict", "models:read"],
            "models": ["diabetes"]})
        assert r.status_code == 201 and r.json()["models"] == ["diabetes"]
        token = http.post("/api/v1/auth/token", data={"username": "fraud-team",
                                                      "password": "long-enough-pw"}).json()["access_token"]
        as_user = {"Authorization": f"Bearer {token}"}
        assert [m["name"] for m in http.get("/api/v1/models", headers=as_user).json()] == ["diabetes"]
        # the user's own key, even without a list of its own, is held to the user's limit
        r = http.post("/api/v1/keys", headers=as_user, json={"name": "mine", "scopes": ["predict"]})
        assert r.status_code == 201
        as_key = {"Authorization": f"Bearer {r.json()['key']}"}
        r = http.post("/api/v1/models/iris/predict", headers=as_key, json={"features": ROW})
        assert r.status_code == 404


def test_prediction_log_usage_and_jobs_hold_only_the_allowed_models(server: LiveServer) -> None:
    admin = key_headers(server, scopes=["admin"])
    iris_admin = key_headers(server, scopes=["admin"], models=["iris"])
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/api/v1/models/breast-cancer/predict", headers=admin, json={"features": [0.0] * 30})
        assert r.status_code == 200
        bc_request = r.json()["request_id"]
        assert http.post("/api/v1/models/iris/predict", headers=admin,
                         json={"features": ROW}).status_code == 200
        deadline = time.monotonic() + 15  # the log is written behind (flushed every 0.5 s)
        while True:
            if http.get(f"/api/v1/predictions/{bc_request}", headers=admin).status_code == 200:
                break
            assert time.monotonic() < deadline, "the prediction was never logged"
            time.sleep(0.2)
        items = http.get("/api/v1/predictions", headers=iris_admin).json()["items"]
        assert items and {i["model"] for i in items} == {"iris"}
        assert http.get(f"/api/v1/predictions/{bc_request}", headers=iris_admin).status_code == 404
        r = http.post(f"/api/v1/predictions/{bc_request}/feedback", headers=iris_admin, json={"actual": 1})
        assert r.status_code == 404
        usage = http.get("/api/v1/usage", params={"by": "model"}, headers=iris_admin).json()["items"]
        assert [u["model"] for u in usage] == ["iris"]
        train = {"dataset": "none", "target": "y", "estimator": "logistic_regression",
                 "register_as": {"name": "breast-cancer"}}
        r = http.post("/api/v1/jobs/train", headers=iris_admin, json=train)
        assert r.status_code == 403, r.text
