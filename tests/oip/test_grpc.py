"""The gRPC edge through the generated stub: typed contents, auth metadata, status codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from sklearn.datasets import load_iris

from modelport.errors import (
    ArtifactIntegrityError,
    Conflict,
    DeadlineExceeded,
    Forbidden,
    InvalidInput,
    ModelError,
    ModelNotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnsafeArtifact,
    ValidationFailed,
    VersionNotFound,
)
from modelport.oip import auth
from modelport.oip.errors import grpc_code
from modelport.oip.generated import grpc_service_pb2 as pb
from modelport.oip.generated import grpc_service_pb2_grpc as pb_grpc
from tests.conftest import LiveServer


@pytest.fixture
def stub(oip_server: LiveServer) -> Iterator[pb_grpc.GRPCInferenceServiceStub]:
    with grpc.insecure_channel(oip_server.grpc_address) as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)


def metadata(headers: dict[str, str]) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in headers.items()]


def iris_request(rows: np.ndarray, **fields: Any) -> pb.ModelInferRequest:
    tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP64", shape=list(rows.shape))
    tensor.contents.fp64_contents.extend(rows.reshape(-1).tolist())
    return pb.ModelInferRequest(model_name="iris", inputs=[tensor], **fields)


def test_typed_contents_in_typed_contents_out(stub: Any, admin_headers: dict[str, str]) -> None:
    x = load_iris().data[[0, 100]]
    response = stub.ModelInfer(iris_request(x, id="req-7", model_version="production"),
                               metadata=metadata(admin_headers))
    assert (response.model_name, response.model_version, response.id) == ("iris", "1", "req-7")
    assert not response.raw_output_contents
    predictions, probabilities = response.outputs
    assert (predictions.datatype, list(predictions.shape)) == ("INT64", [2])
    assert list(predictions.contents.int64_contents) == [0, 2]
    assert (probabilities.datatype, list(probabilities.shape)) == ("FP64", [2, 3])
    np.testing.assert_allclose(np.reshape(probabilities.contents.fp64_contents, (2, 3)).sum(axis=1), 1.0)


def test_raw_contents_in_raw_contents_out(stub: Any, admin_headers: dict[str, str]) -> None:
    x = load_iris().data[[0, 100]]
    typed = stub.ModelInfer(iris_request(x), metadata=metadata(admin_headers))
    tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP64", shape=[2, 4])
    raw = stub.ModelInfer(pb.ModelInferRequest(model_name="iris", inputs=[tensor],
                                               raw_input_contents=[x.astype("<f8").tobytes()]),
                          metadata=metadata(admin_headers))
    assert len(raw.raw_output_contents) == 2 and not raw.outputs[0].HasField("contents")
    labels = typed.outputs[0].contents.int64_contents
    assert np.frombuffer(raw.raw_output_contents[0], "<i8").tolist() == list(labels)
    np.testing.assert_array_equal(np.frombuffer(raw.raw_output_contents[1], "<f8"),
                                  np.array(typed.outputs[1].contents.fp64_contents))


def test_bytes_contents(stub: Any, admin_headers: dict[str, str]) -> None:
    tensor = pb.ModelInferRequest.InferInputTensor(name="text", datatype="BYTES", shape=[2])
    tensor.contents.bytes_contents.extend(["añb".encode(), b"x"])
    response = stub.ModelInfer(pb.ModelInferRequest(model_name="echo", inputs=[tensor]),
                               metadata=metadata(admin_headers))
    length, upper = response.outputs
    assert list(length.contents.int64_contents) == [3, 1]
    assert (upper.datatype, list(upper.contents.bytes_contents)) == ("BYTES", ["AÑB".encode(), b"X"])


@pytest.mark.parametrize(("request_message", "code", "fragment"), [
    (pb.ModelInferRequest(model_name="iris", inputs=[pb.ModelInferRequest.InferInputTensor(
        name="input", datatype="FP64", shape=[1, 4])], raw_input_contents=[b"", b""]),
     grpc.StatusCode.INVALID_ARGUMENT, "2 entries for 1 inputs"),
    (pb.ModelInferRequest(model_name="iris", inputs=[pb.ModelInferRequest.InferInputTensor(
        name="input", datatype="FP64", shape=[1, 4], contents=pb.InferTensorContents(fp64_contents=[1.0]))],
        raw_input_contents=[b"\x00" * 32]),
     grpc.StatusCode.INVALID_ARGUMENT, "not both"),
    (pb.ModelInferRequest(model_name="iris", inputs=[pb.ModelInferRequest.InferInputTensor(
        name="input", datatype="FP64", shape=[1, 4],
        contents=pb.InferTensorContents(fp32_contents=[1.0] * 4))]),
     grpc.StatusCode.INVALID_ARGUMENT, "needs 4 values, got 0"),
    (pb.ModelInferRequest(model_name="nope"), grpc.StatusCode.NOT_FOUND, "model 'nope' not found"),
    (pb.ModelInferRequest(model_name="failing", inputs=[pb.ModelInferRequest.InferInputTensor(
        name="input", datatype="FP64", shape=[1, 2], contents=pb.InferTensorContents(fp64_contents=[1, 2]))]),
     grpc.StatusCode.INTERNAL, "Internal Server Error"),
])
def test_error_status_codes(stub: Any, admin_headers: dict[str, str], request_message: pb.ModelInferRequest,
                            code: grpc.StatusCode, fragment: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(request_message, metadata=metadata(admin_headers))
    assert info.value.code() == code
    assert fragment in info.value.details()
    assert "secret" not in info.value.details()


def test_metadata_rpcs_and_unknown_model(stub: Any, admin_headers: dict[str, str]) -> None:
    md = metadata(admin_headers)
    assert stub.ServerLive(pb.ServerLiveRequest(), metadata=md).live
    assert stub.ServerReady(pb.ServerReadyRequest(), metadata=md).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name="echo", version="production"), metadata=md).ready
    meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="echo"), metadata=md)
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("text", "BYTES", [-1])]
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"), metadata=md)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_credentials_come_from_metadata_and_scopes_are_enforced(
        stub: Any, oip_server: LiveServer, admin_headers: dict[str, str]) -> None:
    created = httpx.post(f"{oip_server.url}/api/v1/keys", headers=admin_headers,
                         json={"name": "grpc-reader", "scopes": ["models:read"]})
    assert created.status_code == 201, created.text
    reader = [("authorization", f"Bearer {created.json()['key']}")]
    assert stub.ModelMetadata(pb.ModelMetadataRequest(name="iris"), metadata=reader).name == "iris"
    # the same key in x-api-key works too; sending both is refused, as on HTTP
    assert stub.ModelMetadata(pb.ModelMetadataRequest(name="iris"),
                              metadata=[("x-api-key", created.json()["key"])]).name == "iris"
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(iris_request(load_iris().data[:1]), metadata=reader)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED and "'predict'" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelMetadata(pb.ModelMetadataRequest(name="iris"), metadata=[("authorization", "Bearer bad")])
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # liveness and readiness stay open, like /health on HTTP
    assert stub.ServerLive(pb.ServerLiveRequest()).live


def test_credentials_helper() -> None:
    assert auth.credentials([("Authorization", b"Bearer x"), ("other", "y"), ("x-api-key", "k")]) == {
        "authorization": "Bearer x", "x-api-key": "k"}
    assert auth.credentials(None) == {}


@pytest.mark.parametrize(("error", "code"), [
    (ModelNotFound(), grpc.StatusCode.NOT_FOUND),
    (VersionNotFound(), grpc.StatusCode.NOT_FOUND),
    (InvalidInput(), grpc.StatusCode.INVALID_ARGUMENT),
    (ValidationFailed(), grpc.StatusCode.INVALID_ARGUMENT),
    (UnsafeArtifact(), grpc.StatusCode.INVALID_ARGUMENT),
    (Conflict(), grpc.StatusCode.FAILED_PRECONDITION),
    (Unauthorized(), grpc.StatusCode.UNAUTHENTICATED),
    (Forbidden(), grpc.StatusCode.PERMISSION_DENIED),
    (RateLimited(), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (PayloadTooLarge(), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (Overloaded(), grpc.StatusCode.UNAVAILABLE),
    (Unavailable(), grpc.StatusCode.UNAVAILABLE),
    (DeadlineExceeded(), grpc.StatusCode.DEADLINE_EXCEEDED),
    (ModelError(), grpc.StatusCode.INTERNAL),
    (ArtifactIntegrityError(), grpc.StatusCode.INTERNAL),
])
def test_error_tree_to_grpc_codes(error: Exception, code: grpc.StatusCode) -> None:
    assert grpc_code(error) == code  # type: ignore[arg-type]


def test_translation_to_the_canonical_request(oip_server: LiveServer, stub: Any,
                                              admin_headers: dict[str, str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    inference = oip_server.services.inference
    seen: list[Any] = []
    original = inference.infer

    async def recording(request: Any) -> Any:
        seen.append(request)
        return await original(request)

    monkeypatch.setattr(inference, "infer", recording)
    message = iris_request(load_iris().data[:2], model_version="production")
    message.parameters["flag"].bool_param = True
    message.parameters["count"].int64_param = -3
    message.parameters["ratio"].double_param = 0.5
    message.parameters["label"].string_param = "x"
    message.outputs.add(name="probabilities")
    started = time.monotonic()
    response = stub.ModelInfer(message, timeout=20,
                               metadata=[*metadata(admin_headers), ("x-request-id", "trace-1")])
    [request] = seen
    assert (request.model, request.version, request.protocol) == ("iris", "production", "grpc")
    assert request.parameters == {"flag": True, "count": -3, "ratio": 0.5, "label": "x"}
    assert request.outputs == ["probabilities"] and request.request_id == "trace-1"
    assert request.principal is not None and request.principal.startswith("key:")
    assert request.inputs["input"].shape == (2, 4)
    # the client's 20 s, not the server's default; gRPC's C core reads its own cached clock and
    # rounds the grpc-timeout header up, so the server's instant can land a little past ours
    assert started + 15 < request.deadline <= time.monotonic() + 21
    assert [o.name for o in response.outputs] == ["probabilities"]
