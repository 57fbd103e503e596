"""Every content type is checked for NUL, a second Content-Type header is refused, predict
routes take JSON only, and a 500 names its request (body and header) even when the error
escapes every handler; gRPC metadata with a NUL is refused."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from modelport.errors import InvalidInput
from modelport.oip.generated import grpc_service_pb2 as pb
from modelport.oip.nul import refuse_nul, refuse_nul_metadata

NUL_BODY = b'{"features": [5.1, 3.5, 1.4, 0.2], "version": "production\\u0000"}'


@pytest.mark.parametrize("ctype", ["text/plain", "application/octet-stream", "application/xml"])
async def test_nul_in_any_content_type_is_refused(client: httpx.AsyncClient, ctype: str) -> None:
    r = await client.post("/v2/models/iris/infer", content=NUL_BODY, headers={"content-type": ctype})
    assert r.status_code == 400 and "NUL" in r.json()["detail"]


async def test_a_second_content_type_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/predict", content=b'{"features": [5.1, 3.5, 1.4, 0.2]}',
                          headers=[("content-type", "application/json"), ("content-type", "text/plain")])
    assert r.status_code == 400 and "Content-Type" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/models/iris/predict", "/api/v1/models/iris/predict/batch"])
async def test_predict_takes_json_only(client: httpx.AsyncClient, path: str) -> None:
    body = b'{"features": [5.1, 3.5, 1.4, 0.2]}' if path.endswith("predict") else \
        b'{"samples": [[5.1, 3.5, 1.4, 0.2]]}'
    r = await client.post(path, content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    ok = await client.post(path, content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 200, ok.text


async def test_an_unhandled_error_names_its_request(app: FastAPI, admin_headers: dict[str, str]) -> None:
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=admin_headers) as client:
        r = await client.get("/api/v1/boom", headers={"X-Request-ID": "req-500"})
    assert r.status_code == 500
    assert r.json()["request_id"] == "req-500" and r.headers["x-request-id"] == "req-500"
    assert "a bug" not in r.text


def test_grpc_metadata_and_fields_with_nul_are_invalid() -> None:
    refuse_nul_metadata([("authorization", "Bearer x"), ("trace-bin", b"\x00\x01")])
    with pytest.raises(InvalidInput):
        refuse_nul_metadata([("x-request-id", "a\x00")])
    refuse_nul(pb.ModelInferRequest(model_name="iris", parameters={"k": pb.InferParameter(string_param="v")}))
    for bad in (pb.ModelInferRequest(model_name="iris\x00"),
                pb.ModelInferRequest(parameters={"k\x00": pb.InferParameter(bool_param=True)}),
                pb.ModelInferRequest(inputs=[pb.ModelInferRequest.InferInputTensor(
                    name="x", parameters={"p": pb.InferParameter(string_param="\x00")})])):
        with pytest.raises(InvalidInput):
            refuse_nul(bad)


@pytest.mark.parametrize("path", ["/api/v1/models/iris%2Fx/predict",
                                  "/api/v1/models/iris%2f..%2fdigits/predict", "/v2/models/iris%2F1/infer"])
async def test_an_encoded_slash_in_a_path_segment_is_refused(client: httpx.AsyncClient, path: str) -> None:
    r = await client.post(path, json={"features": [5.1, 3.5, 1.4, 0.2]})
    assert r.status_code == 400 and "%2F" in r.json()["detail"]
