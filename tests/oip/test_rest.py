"""OIP REST at /v2 through plain httpx: the KServe v2 JSON examples, the binary tensor data
extension and the model repository extension, against the app with the demo models."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def binary_body(header: dict, *chunks: bytes) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(header).encode()
    return raw + b"".join(chunks), {"Inference-Header-Content-Length": str(len(raw)),
                                    "Content-Type": "application/octet-stream"}


def split_binary(response: httpx.Response) -> tuple[dict, bytes]:
    size = int(response.headers["inference-header-content-length"])
    return json.loads(response.content[:size]), response.content[size:]


async def test_server_endpoints(oip_client: httpx.AsyncClient) -> None:
    r = await oip_client.get("/v2")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "modelport" and isinstance(body["version"], str)
    assert {"binary_tensor_data", "model_repository"} <= set(body["extensions"])
    assert (await oip_client.get("/v2/health/live")).json() == {"live": True}
    r = await oip_client.get("/v2/health/ready")
    assert (r.status_code, r.json()) == (200, {"ready": True})


async def test_model_metadata_from_the_signature(oip_client: httpx.AsyncClient) -> None:
    r = await oip_client.get("/v2/models/breast-cancer")
    assert r.status_code == 200
    assert r.json() == {
        "name": "breast-cancer", "versions": ["1"], "platform": "sklearn",
        "inputs": [{"name": "input", "datatype": "FP64", "shape": [-1, 30]}],
        "outputs": [{"name": "predictions", "datatype": "INT64", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]}],
    }
    for version in ("1", "production", "latest"):
        r = await oip_client.get(f"/v2/models/breast-cancer/versions/{version}")
        assert r.status_code == 200 and r.json()["name"] == "breast-cancer"


async def test_model_ready(oip_client: httpx.AsyncClient) -> None:
    r = await oip_client.get("/v2/models/iris/ready")
    assert (r.status_code, r.json()) == (200, {"name": "iris", "ready": True})
    r = await oip_client.get("/v2/models/iris/versions/production/ready")
    assert r.status_code == 200


async def test_kserve_example_shape_with_id_and_output_filter(oip_client: httpx.AsyncClient) -> None:
    """The spec's request layout: id, inputs with name/shape/datatype/data, outputs filter."""
    request = {
        "id": "42",
        "inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP64",
                    "data": IRIS_ROW + [6.7, 3.0, 5.2, 2.3]}],
        "outputs": [{"name": "probabilities"}],
    }
    r = await oip_client.post("/v2/models/iris/infer", json=request)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["id"] == "42" and body["model_name"] == "iris" and body["model_version"] == "1"
    [out] = body["outputs"]
    assert (out["name"], out["datatype"], out["shape"]) == ("probabilities", "FP64", [2, 3])
    proba = np.array(out["data"]).reshape(2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.argmax(axis=1).tolist() == [0, 2]


async def test_nested_data_and_versions_and_aliases(oip_client: httpx.AsyncClient) -> None:
    request = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [IRIS_ROW]}]}
    answers = []
    for path in ("/v2/models/iris/infer", "/v2/models/iris/versions/1/infer",
                 "/v2/models/iris/versions/production/infer"):
        r = await oip_client.post(path, json=request)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "id" not in body and body["model_version"] == "1"
        answers.append(body["outputs"])
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == {"name": "predictions", "datatype": "INT64", "shape": [1], "data": [0]}


async def test_spec_example_as_written_is_rejected_for_its_bool_input(oip_client: httpx.AsyncClient) -> None:
    """The spec's own example sends shape [3] with one value: len(data) != prod(shape) is a 400."""
    request = {"id": "42", "inputs": [
        {"name": "input0", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]},
        {"name": "input1", "shape": [3], "datatype": "BOOL", "data": [True]},
    ], "outputs": [{"name": "output0"}]}
    r = await oip_client.post("/v2/models/iris/infer", json=request)
    assert r.status_code == 400
    assert r.json() == {"error": "input 'input1': shape [3] needs 3 values, got 1"}


@pytest.mark.parametrize(("path", "request_body", "status", "fragment"), [
    ("/v2/models/nope/infer", {"inputs": [{"name": "input", "shape": [1], "datatype": "FP64", "data": [1]}]},
     404, "model 'nope' not found"),
    ("/v2/models/iris/versions/9/infer",
     {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROW}]},
     404, "no version '9'"),
    ("/v2/models/iris/infer", {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP64",
                                           "data": [1, 2, 3]}]}, 400, "expected [N, 4]"),
    ("/v2/models/iris/infer", {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64",
                                           "data": [1, 2, 3]}]}, 400, "needs 4 values, got 3"),
    ("/v2/models/iris/infer", {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",
                                           "data": IRIS_ROW}]}, 400, "unknown input(s) 'x'"),
    ("/v2/models/iris/infer", {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64",
                                           "data": IRIS_ROW}], "outputs": [{"name": "nope"}]},
     400, "unknown output(s) 'nope'"),
    ("/v2/models/iris/infer", {"inputs": []}, 400, "inputs"),
    ("/v2/models/iris/infer", {"inputs": [{"name": "input", "shape": "1,4", "datatype": "FP64",
                                           "data": IRIS_ROW}]}, 400, "shape"),
    ("/v2/models/iris/infer", {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64"}]},
     400, "neither data nor binary_data_size"),
])
async def test_errors_are_error_objects(oip_client: httpx.AsyncClient, path: str, request_body: dict,
                                        status: int, fragment: str) -> None:
    r = await oip_client.post(path, json=request_body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and fragment in body["error"], body


async def test_model_failure_is_a_generic_500(oip_client: httpx.AsyncClient) -> None:
    r = await oip_client.post("/v2/models/failing/infer", json={
        "inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]})
    assert (r.status_code, r.json()) == (500, {"error": "Internal Server Error"})


async def test_invalid_json_and_unknown_model_metadata(oip_client: httpx.AsyncClient) -> None:
    r = await oip_client.post("/v2/models/iris/infer", content=b"{not json")
    assert (r.status_code, r.json()) == (400, {"error": "request body is not valid JSON"})
    r = await oip_client.get("/v2/models/nope")
    assert r.status_code == 404 and "not found" in r.json()["error"]
    r = await oip_client.get("/v2/models/nope/ready")
    assert r.status_code == 404


async def test_binary_inputs_and_outputs(oip_client: httpx.AsyncClient) -> None:
    x = np.array([IRIS_ROW, [6.7, 3.0, 5.2, 2.3]], dtype=np.float64)
    body, headers = binary_body({
        "inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP64",
                    "parameters": {"binary_data_size": x.nbytes}}],
        "outputs": [{"name": "predictions", "parameters": {"binary_data": True}},
                    {"name": "probabilities", "parameters": {"binary_data": False}}],
    }, x.tobytes())
    r = await oip_client.post("/v2/models/iris/infer", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    header, rest = split_binary(r)
    pred, proba = header["outputs"]
    assert pred == {"name": "predictions", "datatype": "INT64", "shape": [2],
                    "parameters": {"binary_data_size": 16}}
    assert np.frombuffer(rest, dtype="<i8").tolist() == [0, 2]
    assert "data" in proba and len(proba["data"]) == 6


async def test_binary_data_output_for_every_output(oip_client: httpx.AsyncClient) -> None:
    request = {"parameters": {"binary_data_output": True},
               "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROW}]}
    r = await oip_client.post("/v2/models/iris/infer", json=request)
    header, rest = split_binary(r)
    sizes = [o["parameters"]["binary_data_size"] for o in header["outputs"]]
    assert sizes == [8, 24] and len(rest) == 32
    np.testing.assert_allclose(np.frombuffer(rest[8:], dtype="<f8").sum(), 1.0)


@pytest.mark.parametrize(("header", "chunk", "fragment"), [
    ({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64",
                  "parameters": {"binary_data_size": 32}}]}, b"\x00" * 16, "ends before its 32 bytes"),
    ({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64",
                  "parameters": {"binary_data_size": 16}}]}, b"\x00" * 16, "needs 32 bytes, got 16"),
    ({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64",
                  "parameters": {"binary_data_size": 32}}]}, b"\x00" * 40, "8 bytes of binary data"),
    ({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROW,
                  "parameters": {"binary_data_size": 32}}]}, b"\x00" * 32, "both data and"),
])
async def test_binary_errors(oip_client: httpx.AsyncClient, header: dict, chunk: bytes,
                            fragment: str) -> None:
    body, headers = binary_body(header, chunk)
    r = await oip_client.post("/v2/models/iris/infer", content=body, headers=headers)
    assert r.status_code == 400 and fragment in r.json()["error"], r.text


async def test_bad_header_length(oip_client: httpx.AsyncClient) -> None:
    for value in ("abc", "999999"):
        r = await oip_client.post("/v2/models/iris/infer", content=b"{}",
                              headers={"Inference-Header-Content-Length": value})
        assert r.status_code == 400 and "Inference-Header-Content-Length" in r.json()["error"]


async def test_bytes_tensors_json_and_binary(oip_client: httpx.AsyncClient) -> None:
    r = await oip_client.post("/v2/models/echo/infer", json={
        "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["héllo", "ab"]}]})
    assert r.status_code == 200, r.text
    length, upper = r.json()["outputs"]
    assert length == {"name": "length", "datatype": "INT64", "shape": [2], "data": [5, 2]}
    assert upper == {"name": "upper", "datatype": "BYTES", "shape": [2], "data": ["HÉLLO", "AB"]}

    raw = b"".join(struct.pack("<I", len(s)) + s for s in ("héllo".encode(), b"", b"xyz"))
    body, headers = binary_body({
        "parameters": {"binary_data_output": True},
        "inputs": [{"name": "text", "shape": [3], "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(raw)}}]}, raw)
    r = await oip_client.post("/v2/models/echo/infer", content=body, headers=headers)
    assert r.status_code == 200, r.text
    header, rest = split_binary(r)
    n_len = header["outputs"][0]["parameters"]["binary_data_size"]
    assert np.frombuffer(rest[:n_len], dtype="<i8").tolist() == [5, 0, 3]
    expected = b"".join(struct.pack("<I", len(s)) + s for s in ("HÉLLO".encode(), b"", b"XYZ"))
    assert rest[n_len:] == expected


async def test_non_utf8_bytes_for_a_text_model_is_a_400(oip_client: httpx.AsyncClient) -> None:
    raw = struct.pack("<I", 2) + b"\xff\xfe"
    body, headers = binary_body({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES",
                                             "parameters": {"binary_data_size": len(raw)}}]}, raw)
    r = await oip_client.post("/v2/models/echo/infer", content=body, headers=headers)
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]


async def test_gzip_and_deflate_request_bodies(oip_client: httpx.AsyncClient) -> None:
    request = json.dumps({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64",
                                      "data": IRIS_ROW}]}).encode()
    for encoding, data in (("gzip", gzip.compress(request)), ("deflate", zlib.compress(request))):
        r = await oip_client.post("/v2/models/iris/infer", content=data,
                                  headers={"Content-Encoding": encoding})
        assert r.status_code == 200, r.text
        assert r.json()["outputs"][0]["data"] == [0]
    r = await oip_client.post("/v2/models/iris/infer", content=request, headers={"Content-Encoding": "br"})
    assert r.status_code == 415 and "Content-Encoding" in r.json()["error"]


async def test_repository_index_load_unload(oip_client: httpx.AsyncClient) -> None:
    r = await oip_client.post("/v2/repository/index", json={})
    assert r.status_code == 200
    index = {(e["name"], e["version"]): e for e in r.json()}
    assert index[("iris", "1")] == {"name": "iris", "version": "1", "state": "READY", "reason": ""}

    r = await oip_client.post("/v2/repository/models/iris/unload")
    assert (r.status_code, r.json()) == (200, {})
    assert (await oip_client.get("/v2/models/iris/ready")).status_code == 400
    ready_only = (await oip_client.post("/v2/repository/index", json={"ready": True})).json()
    assert ("iris", "1") not in {(e["name"], e["version"]) for e in ready_only}
    assert {e["name"] for e in ready_only} >= {"breast-cancer", "diabetes", "echo"}

    r = await oip_client.post("/v2/repository/models/iris/load", json={"parameters": {}})
    assert r.status_code == 200
    assert (await oip_client.get("/v2/models/iris/ready")).json() == {"name": "iris", "ready": True}

    assert (await oip_client.post("/v2/repository/models/nope/load")).status_code == 404
    assert (await oip_client.post("/v2/repository/models/nope/unload")).status_code == 404
    r = await oip_client.post("/v2/repository/models/iris/load", json={"parameters": {"config": "{}"}})
    assert r.status_code == 400 and "not supported" in r.json()["error"]


async def test_unloaded_model_still_serves_by_loading_on_demand(oip_client: httpx.AsyncClient) -> None:
    await oip_client.post("/v2/repository/models/iris/unload")
    r = await oip_client.post("/v2/models/iris/infer", json={
        "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROW}]})
    assert r.status_code == 200
    assert (await oip_client.get("/v2/models/iris/ready")).status_code == 200


async def test_unexpected_failure_is_a_generic_500(oip_app: FastAPI, oip_client: httpx.AsyncClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(request: object) -> None:
        raise KeyError("secret internal detail")

    monkeypatch.setattr(oip_app.state.services.inference, "infer", broken)
    r = await oip_client.post("/v2/models/iris/infer", json={
        "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROW}]})
    assert (r.status_code, r.json()) == (500, {"error": "Internal Server Error"})
