"""OIP gRPC edge: ``inference.GRPCInferenceService`` on a ``grpc.aio`` server in the HTTP process.

The servicer translates protobuf messages to the canonical request and back, like the REST
edge; metadata and readiness come from :mod:`modelport.oip.dataplane`. Inputs arrive as typed
``contents`` or as ``raw_input_contents`` (decoded zero-copy); a request that sent raw inputs
gets ``raw_output_contents`` back, otherwise typed contents (raw too when an output has no
typed field, e.g. FP16). Errors become gRPC status codes through :mod:`modelport.oip.errors`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from modelport.bootstrap import Services
from modelport.core.calls import CallContext, call_deadline, call_var
from modelport.core.gate import Gate
from modelport.core.traffic import metadata_headers, request_headers_var
from modelport.core.types import InferenceRequest, InferenceResponse, TensorDict
from modelport.errors import DeadlineExceeded, InvalidInput, ModelportError
from modelport.observability.context import new_request_id, request_id_from, request_id_var
from modelport.oip import codec, dataplane
from modelport.oip.auth import authenticate_metadata
from modelport.oip.errors import as_domain_error, grpc_code, log_server_error, public_message
from modelport.oip.generated import grpc_service_pb2 as pb
from modelport.oip.generated import grpc_service_pb2_grpc as pb_grpc
from modelport.oip.nul import refuse_nul, refuse_nul_metadata
from modelport.security.principal import Principal

log = logging.getLogger(__name__)
T = TypeVar("T")
#: a hair after the batcher's own expiry, so queued work is counted as expired there
DEADLINE_GRACE_S = 0.01


# ------------------------------------------------------------------------------ translation
def _parameter(value: pb.InferParameter) -> Any:
    choice = value.WhichOneof("parameter_choice")
    return getattr(value, choice) if choice else None


def _set_parameter(target: pb.InferParameter, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_param = value
    elif isinstance(value, int):
        if value >= 2**63:
            target.uint64_param = value
        else:
            target.int64_param = value
    elif isinstance(value, float):
        target.double_param = value
    else:
        target.string_param = str(value)


def decode_request(message: pb.ModelInferRequest) -> TensorDict:
    raw = message.raw_input_contents
    if raw and len(raw) != len(message.inputs):
        raise InvalidInput(f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs")
    inputs: TensorDict = {}
    for i, tensor in enumerate(message.inputs):
        name = tensor.name
        if not name or name in inputs:
            raise InvalidInput(f"input {name!r} is unnamed or appears twice")
        if raw:
            if tensor.HasField("contents"):
                raise InvalidInput(f"input {name!r}: use contents or raw_input_contents, not both")
            inputs[name] = codec.decode_binary(name, tensor.datatype, tensor.shape, raw[i])
        else:
            field = codec.CONTENTS_FIELD.get(tensor.datatype)
            values = getattr(tensor.contents, field) if field else []
            inputs[name] = codec.decode_contents(name, tensor.datatype, tensor.shape, values)
    return inputs


def encode_response(result: InferenceResponse, request_id: str, raw: bool) -> pb.ModelInferResponse:
    response = pb.ModelInferResponse(model_name=result.model, model_version=str(result.version),
                                     id=request_id)
    raw = raw or any(codec.datatype_of(a) not in codec.CONTENTS_FIELD for a in result.outputs.values())
    for name, arr in result.outputs.items():
        out = response.outputs.add(name=name, datatype=codec.datatype_of(arr), shape=list(arr.shape))
        if raw:
            response.raw_output_contents.append(bytes(codec.binary_data(arr)[1]))
        else:
            _, field, values = codec.contents_values(arr)
            getattr(out.contents, field).extend(values)
    for key, value in result.parameters.items():
        _set_parameter(response.parameters[key], value)
    return response


def _metadata_response(meta: dataplane.ModelMetadata) -> pb.ModelMetadataResponse:
    def tensors(items: list[dataplane.TensorMetadata]) -> list[pb.ModelMetadataResponse.TensorMetadata]:
        return [pb.ModelMetadataResponse.TensorMetadata(name=t.name, datatype=t.datatype, shape=t.shape)
                for t in items]

    return pb.ModelMetadataResponse(name=meta.name, versions=meta.versions, platform=meta.platform,
                                    inputs=tensors(meta.inputs), outputs=tensors(meta.outputs))


def _request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str):
            return request_id_from(value)
    return new_request_id()


# ------------------------------------------------------------------------------ servicer
class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, services: Services) -> None:
        self.services = services
        self.gate = Gate(services)

    async def _call(self, context: grpc.aio.ServicerContext[Any, Any], scope: str | None,
                    work: Callable[[Principal | None], Awaitable[T]]) -> T:
        """Authenticate, run, and map any failure to a status code (the one error path)."""
        token = request_id_var.set(_request_id(context))
        request_headers_var.set(metadata_headers(context.invocation_metadata()))  # sticky traffic (#20)
        remaining = context.time_remaining()  # the client's deadline, else the server's default
        timeout = self.services.settings.inference.request_timeout_s if remaining is None else remaining
        ctx = CallContext(protocol="grpc", deadline=time.monotonic() + timeout)
        call_token = call_var.set(ctx)
        try:
            principal = None
            refuse_nul_metadata(context.invocation_metadata())
            if scope is not None:
                principal = await authenticate_metadata(self.gate, context.invocation_metadata(), scope)
            try:
                async with asyncio.timeout(timeout + DEADLINE_GRACE_S):
                    return await work(principal)
            except TimeoutError:
                ctx.cancelled.set()
                raise DeadlineExceeded("request deadline passed; the answer was not ready") from None
        except grpc.aio.AbortError:
            raise
        except Exception as failure:
            exc = as_domain_error(failure)
            log_server_error(exc)
            code = grpc_code(exc) if isinstance(exc, ModelportError) else grpc.StatusCode.INTERNAL
            await context.abort(code, public_message(exc))
            raise  # abort raises; this line only satisfies the type checker
        finally:
            call_var.reset(call_token)
            request_id_var.reset(token)

    async def ServerLive(self, request: pb.ServerLiveRequest,
                         context: grpc.aio.ServicerContext[Any, Any]) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: pb.ServerReadyRequest,
                          context: grpc.aio.ServicerContext[Any, Any]) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=dataplane.server_ready(self.services))

    async def ServerMetadata(self, request: pb.ServerMetadataRequest,
                             context: grpc.aio.ServicerContext[Any, Any]) -> pb.ServerMetadataResponse:
        name, version, extensions = dataplane.server_metadata()
        return pb.ServerMetadataResponse(name=name, version=version, extensions=extensions)

    async def ModelReady(self, request: pb.ModelReadyRequest,
                         context: grpc.aio.ServicerContext[Any, Any]) -> pb.ModelReadyResponse:
        async def work(_p: Principal | None) -> pb.ModelReadyResponse:
            refuse_nul(request)
            ready = await dataplane.model_ready(self.services, request.name, request.version or None)
            return pb.ModelReadyResponse(ready=ready)

        return await self._call(context, "models:read", work)

    async def ModelMetadata(self, request: pb.ModelMetadataRequest,
                            context: grpc.aio.ServicerContext[Any, Any]) -> pb.ModelMetadataResponse:
        async def work(_p: Principal | None) -> pb.ModelMetadataResponse:
            refuse_nul(request)
            meta = await dataplane.model_metadata(self.services, request.name, request.version or None)
            return _metadata_response(meta)

        return await self._call(context, "models:read", work)

    async def ModelInfer(self, request: pb.ModelInferRequest,
                         context: grpc.aio.ServicerContext[Any, Any]) -> pb.ModelInferResponse:
        async def work(principal: Principal | None) -> pb.ModelInferResponse:
            return await self._infer(request, principal, request_id_var.get(), call_deadline())

        return await self._call(context, "predict", work)

    async def ModelStreamInfer(self, request_iterator: AsyncIterator[pb.ModelInferRequest],
                               context: grpc.aio.ServicerContext[Any, Any],
                               ) -> AsyncIterator[pb.ModelStreamInferResponse]:
        async def authenticate(principal: Principal | None) -> Principal | None:
            return principal

        principal = await self._call(context, "predict", authenticate)
        async for request in request_iterator:
            try:
                response = await self._infer(request, principal, new_request_id())
            except Exception as exc:  # one failed request does not end the stream
                log_server_error(exc)
                yield pb.ModelStreamInferResponse(error_message=public_message(exc))
            else:
                yield pb.ModelStreamInferResponse(infer_response=response)

    async def _infer(self, request: pb.ModelInferRequest, principal: Principal | None,
                     request_id: str, deadline: float | None = None) -> pb.ModelInferResponse:
        refuse_nul(request)
        result = await self.services.inference.infer(InferenceRequest(
            model=request.model_name, version=request.model_version or None,
            inputs=decode_request(request),
            parameters={k: _parameter(v) for k, v in request.parameters.items()},
            outputs=[o.name for o in request.outputs] or None, request_id=request_id,
            protocol="grpc", principal=principal.id if principal else None, deadline=deadline,
        ))
        return encode_response(result, request.id, raw=bool(request.raw_input_contents))


# ------------------------------------------------------------------------------ server
@dataclass
class GrpcServer:
    server: grpc.aio.Server
    port: int

    async def stop(self, grace: float) -> None:
        await self.server.stop(grace)


def _address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{host}:{port}"


async def start_grpc_server(services: Services) -> GrpcServer:
    """Bind ``settings.server.host:settings.grpc.port`` (0 picks a free port) and start serving."""
    settings = services.settings
    limit = settings.grpc.max_message_bytes
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
    ])
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(services), server)
    address = _address(settings.server.host, settings.grpc.port)
    if settings.tls.cert_file is not None and settings.tls.key_file is not None:  # same files as HTTPS
        client_ca = settings.tls.client_ca_file.read_bytes() if settings.tls.client_ca_file else None
        credentials = grpc.ssl_server_credentials(
            [(settings.tls.key_file.read_bytes(), settings.tls.cert_file.read_bytes())],
            root_certificates=client_ca, require_client_auth=client_ca is not None)
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if not port:
        raise RuntimeError(f"gRPC could not bind {address}")
    await server.start()
    log.info("OIP gRPC listening on %s", _address(settings.server.host, port))
    return GrpcServer(server=server, port=port)
