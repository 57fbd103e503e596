"""NVIDIA's official tritonclient (HTTP and gRPC) drives a real modelport server.

Each test runs the same scenario over both protocols; answers must also equal ``/api/v1``'s
for the same rows, since every edge calls the same core.
"""

from __future__ import annotations

import queue
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from sklearn.datasets import load_breast_cancer, load_iris
from tritonclient.utils import InferenceServerException

from tests.conftest import LiveServer

PROTOCOLS = ("http", "grpc")
MODULES: dict[str, Any] = {"http": httpclient, "grpc": grpcclient}


def creds(protocol: str, headers: dict[str, str]) -> dict[str, str]:
    """gRPC metadata keys must be lower-case (tritonclient.grpc passes headers through as
    metadata); a fresh dict for HTTP, since tritonclient.http adds its own entries to it."""
    return {k.lower(): v for k, v in headers.items()} if protocol == "grpc" else dict(headers)


@pytest.fixture
def clients(http_client: Any, grpc_client: Any) -> dict[str, Any]:
    return {"http": http_client, "grpc": grpc_client}


def infer(protocol: str, client: Any, model: str, inputs: dict[str, np.ndarray], headers: dict[str, str],
          outputs: list[str] | None = None, binary: bool = True, version: str = "") -> Any:
    module = MODULES[protocol]
    tensors = []
    for name, arr in inputs.items():
        datatype = "BYTES" if arr.dtype == object else {"float64": "FP64", "float32": "FP32"}[arr.dtype.name]
        tensor = module.InferInput(name, list(arr.shape), datatype)
        if protocol == "http":
            tensor.set_data_from_numpy(arr, binary_data=binary)
        else:
            tensor.set_data_from_numpy(arr)
        tensors.append(tensor)
    requested = None
    if outputs is not None:
        requested = [module.InferRequestedOutput(o, binary_data=binary) if protocol == "http"
                     else module.InferRequestedOutput(o) for o in outputs]
    return client.infer(model, tensors, model_version=version, outputs=requested,
                        headers=creds(protocol, headers))


def api_v1(server: LiveServer, model: str, rows: np.ndarray, headers: dict[str, str]) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/api/v1/models/{model}/predict/batch", json={"samples": rows.tolist()},
                   headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_server_and_model_metadata(clients: dict[str, Any], admin_headers: dict[str, str]) -> None:
    for protocol, client in clients.items():
        headers = creds(protocol, admin_headers)
        assert client.is_server_live(headers=headers), protocol
        assert client.is_server_ready(headers=headers), protocol
        assert client.is_model_ready("iris", headers=headers), protocol
        assert client.is_model_ready("iris", "production", headers=headers), protocol
        kwargs = {"as_json": True} if protocol == "grpc" else {}
        server = client.get_server_metadata(headers=headers, **kwargs)
        assert server["name"] == "modelport", protocol
        assert {"binary_tensor_data", "model_repository"} <= set(server["extensions"])
        meta = client.get_model_metadata("breast-cancer", headers=headers, **kwargs)
        assert meta["name"] == "breast-cancer" and meta["versions"] == ["1"] and meta["platform"] == "sklearn"
        [inp] = meta["inputs"]
        # gRPC's JSON rendering of int64 shapes uses strings
        assert (inp["name"], inp["datatype"], [int(d) for d in inp["shape"]]) == ("input", "FP64", [-1, 30])
        assert [(o["name"], o["datatype"]) for o in meta["outputs"]] == [("predictions", "INT64"),
                                                                         ("probabilities", "FP64")]


@pytest.mark.parametrize("rows", [1, 64])
def test_infer_iris_rows_equal_api_v1(oip_server: LiveServer, clients: dict[str, Any],
                                      admin_headers: dict[str, str], rows: int) -> None:
    x = load_iris().data[::2][:rows].astype(np.float64)
    expected = api_v1(oip_server, "iris", x, admin_headers)
    for protocol, client in clients.items():
        result = infer(protocol, client, "iris", {"input": x}, admin_headers)
        predictions = result.as_numpy("predictions")
        probabilities = result.as_numpy("probabilities")
        assert predictions.shape == (rows,) and probabilities.shape == (rows, 3), protocol
        assert predictions.tolist() == expected["predictions"], protocol
        np.testing.assert_array_equal(probabilities, np.array(expected["probabilities"]))
        response = result.get_response(**({"as_json": True} if protocol == "grpc" else {}))
        assert response["model_name"] == "iris" and response["model_version"] == "1"


def test_breast_cancer_every_row_http_grpc_and_api_v1_agree(
        oip_server: LiveServer, clients: dict[str, Any], admin_headers: dict[str, str]) -> None:
    x, _ = load_breast_cancer(return_X_y=True)
    expected = api_v1(oip_server, "breast-cancer", x, admin_headers)
    answers = {}
    for protocol, client in clients.items():
        result = infer(protocol, client, "breast-cancer", {"input": x}, admin_headers, version="production")
        answers[protocol] = (result.as_numpy("predictions"), result.as_numpy("probabilities"))
    for protocol, (predictions, probabilities) in answers.items():
        assert predictions.tolist() == expected["predictions"], protocol
        # bit-for-bit: binary and raw contents carry the float64 values unchanged
        np.testing.assert_array_equal(probabilities, np.array(expected["probabilities"]))


def test_http_json_and_binary_tensors_give_the_same_answer(
        http_client: Any, admin_headers: dict[str, str]) -> None:
    x = load_iris().data[:5]
    json_result = infer("http", http_client, "iris", {"input": x}, admin_headers,
                        outputs=["predictions", "probabilities"], binary=False)
    binary_result = infer("http", http_client, "iris", {"input": x}, admin_headers,
                          outputs=["predictions", "probabilities"], binary=True)
    for output in json_result.get_response()["outputs"]:
        assert "data" in output and "parameters" not in output
    for output in binary_result.get_response()["outputs"]:
        assert output["parameters"]["binary_data_size"] > 0 and "data" not in output
    for name in ("predictions", "probabilities"):
        np.testing.assert_array_equal(json_result.as_numpy(name), binary_result.as_numpy(name))


def test_requested_output_subset(clients: dict[str, Any], admin_headers: dict[str, str]) -> None:
    x = load_iris().data[:3]
    for protocol, client in clients.items():
        result = infer(protocol, client, "iris", {"input": x}, admin_headers, outputs=["probabilities"])
        assert result.as_numpy("predictions") is None, protocol
        assert result.as_numpy("probabilities").shape == (3, 3), protocol


def test_bytes_tensors(clients: dict[str, Any], admin_headers: dict[str, str]) -> None:
    texts = np.array(["héllo", "", "model port"], dtype=object)
    for protocol, client in clients.items():
        result = infer(protocol, client, "echo", {"text": texts}, admin_headers)
        assert result.as_numpy("length").tolist() == [5, 0, 10], protocol
        assert result.as_numpy("upper").tolist() == ["HÉLLO".encode(), b"", b"MODEL PORT"], protocol


def test_http_bytes_as_json(http_client: Any, admin_headers: dict[str, str]) -> None:
    result = infer("http", http_client, "echo", {"text": np.array(["a", "bc"], dtype=object)},
                   admin_headers, outputs=["upper"], binary=False)
    assert result.get_response()["outputs"][0]["data"] == ["A", "BC"]


@pytest.mark.parametrize(("case", "http_status", "grpc_status", "fragment"), [
    ("unknown model", "404", "StatusCode.NOT_FOUND", "model 'nope' not found"),
    ("unknown version", "404", "StatusCode.NOT_FOUND", "no version or alias 'canary'"),
    ("bad shape", "400", "StatusCode.INVALID_ARGUMENT", "expected [N, 4]"),
    ("unknown output", "400", "StatusCode.INVALID_ARGUMENT", "unknown output(s) 'nope'"),
])
def test_errors(clients: dict[str, Any], admin_headers: dict[str, str], case: str, http_status: str,
                grpc_status: str, fragment: str) -> None:
    model, version, x, outputs = "iris", "", load_iris().data[:2], None
    if case == "unknown model":
        model = "nope"
    elif case == "unknown version":
        version = "canary"
    elif case == "bad shape":
        x = x[:, :3]
    else:
        outputs = ["nope"]
    for protocol, client in clients.items():
        with pytest.raises(InferenceServerException) as info:
            infer(protocol, client, model, {"input": x}, admin_headers, outputs=outputs, version=version)
        assert info.value.status() == (http_status if protocol == "http" else grpc_status), protocol
        assert fragment in info.value.message(), (protocol, info.value.message())


def test_grpc_stream_infer(grpc_client: Any, admin_headers: dict[str, str]) -> None:
    results: queue.Queue[tuple[Any, Any]] = queue.Queue()
    grpc_client.start_stream(callback=lambda result, error: results.put((result, error)),
                             headers=creds("grpc", admin_headers))
    try:
        for rows, model in ((1, "iris"), (4, "iris"), (1, "nope")):
            tensor = grpcclient.InferInput("input", [rows, 4], "FP64")
            tensor.set_data_from_numpy(load_iris().data[:rows])
            grpc_client.async_stream_infer(model, [tensor], request_id=f"{model}-{rows}")
        answers = [results.get(timeout=30) for _ in range(3)]
    finally:
        grpc_client.stop_stream()
    (first, e1), (second, e2), (failed, error) = answers
    assert e1 is None and e2 is None
    assert first.get_response().id == "iris-1" and first.as_numpy("predictions").shape == (1,)
    assert second.as_numpy("probabilities").shape == (4, 3)
    assert failed is None and "model 'nope' not found" in error.message()


def test_http_model_repository(http_client: Any, admin_headers: dict[str, str]) -> None:
    index = {(m["name"], m["version"]): m["state"]
             for m in http_client.get_model_repository_index(headers=admin_headers)}
    assert index[("diabetes", "1")] == "READY"
    http_client.unload_model("diabetes", headers=admin_headers)
    assert not http_client.is_model_ready("diabetes", headers=admin_headers)
    http_client.load_model("diabetes", headers=admin_headers)
    assert http_client.is_model_ready("diabetes", headers=admin_headers)
