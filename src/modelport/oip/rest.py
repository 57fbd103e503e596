"""OIP REST at ``/v2``: health, metadata, inference (with Triton's binary tensor data extension)
and the model repository extension.

Routes translate only. An inference body is JSON, optionally followed by raw tensor bytes
(``Inference-Header-Content-Length`` gives the JSON's length; each binary input says its size in
``parameters.binary_data_size``). Outputs go back as JSON ``data`` or, when asked per output
(``binary_data``) or for all (``binary_data_output``), as raw bytes after the JSON header.
Every error is ``{"error": ...}`` (see :mod:`modelport.oip.errors`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport.core.types import InferenceRequest, InferenceResponse, TensorDict
from modelport.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from modelport.observability.context import current_request_id
from modelport.oip import codec, dataplane
from modelport.oip.errors import error_response
from modelport.oip.schemas import (
    InferenceRequestBody,
    RepositoryActionBody,
    RepositoryIndexBody,
    RequestOutput,
    parse,
)
from modelport.web.gate import AdminDep, PredictDep, ReadDep, ServicesDep
from modelport.web.responses import dumps

HEADER_LENGTH = "inference-header-content-length"
BINARY_MEDIA_TYPE = "application/octet-stream"


class OIPRoute(APIRoute):
    """Maps every error raised in a /v2 route (or its dependencies) to ``{"error": ...}``; the
    app's own handlers keep only framework errors (404/405/413 before a route runs)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (StarletteHTTPException, RequestValidationError):
                raise
            except Exception as exc:  # domain errors keep their status; anything else is a 500
                return error_response(exc)

        return route


router = APIRouter(prefix="/v2", tags=["open inference protocol v2"], route_class=OIPRoute)


def json_response(content: Any, status: int = 200) -> Response:
    return Response(dumps(content), status_code=status, media_type="application/json")


# ------------------------------------------------------------------------------ server
@router.get("", summary="Server metadata")
async def server_metadata() -> Response:
    name, version, extensions = dataplane.server_metadata()
    return json_response({"name": name, "version": version, "extensions": list(extensions)})


@router.get("/health/live", summary="Server live (200) or not")
async def server_live() -> Response:
    return json_response({"live": True})


@router.get("/health/ready", summary="Server ready (200) or not (400, as the spec says)")
async def server_ready(services: ServicesDep) -> Response:
    ready = dataplane.server_ready(services)
    return json_response({"ready": ready}, 200 if ready else 400)


# ------------------------------------------------------------------------------ models
@router.get("/models/{name}", summary="Model metadata (default version)")
@router.get("/models/{name}/versions/{version}", summary="Model metadata (version or alias)")
async def model_metadata(name: str, services: ServicesDep, _p: ReadDep,
                         version: str | None = None) -> Response:
    meta = await dataplane.model_metadata(services, name, version)
    return json_response({
        "name": meta.name, "versions": meta.versions, "platform": meta.platform,
        "inputs": [vars(t) for t in meta.inputs], "outputs": [vars(t) for t in meta.outputs],
    })


@router.get("/models/{name}/ready", summary="Model ready (200) or not (400)")
@router.get("/models/{name}/versions/{version}/ready", summary="Model version ready (200) or not (400)")
async def model_ready(name: str, services: ServicesDep, _p: ReadDep,
                      version: str | None = None) -> Response:
    ready = await dataplane.model_ready(services, name, version)
    return json_response({"name": name, "ready": ready}, 200 if ready else 400)


@router.post("/models/{name}/infer", summary="Inference (JSON or JSON + binary tensors)")
@router.post("/models/{name}/versions/{version}/infer", summary="Inference on a version or alias")
async def infer(name: str, request: Request, services: ServicesDep, principal: PredictDep,
                version: str | None = None) -> Response:
    body = _decompress(await request.body(), request.headers.get("content-encoding"),
                       services.settings.server.max_body_bytes)
    parsed, inputs = parse_infer_body(body, request.headers.get(HEADER_LENGTH))
    outputs = parsed.outputs or []
    binary = _binary_outputs(parsed)
    result = await services.inference.infer(InferenceRequest(
        model=name, version=version, inputs=inputs,
        parameters={k: v for k, v in parsed.parameters.items() if k != "binary_data_output"},
        outputs=[o.name for o in outputs] or None, request_id=current_request_id(),
        protocol="v2-rest", principal=principal.id,
    ))
    return encode_infer_response(result, parsed.id, binary)


# ------------------------------------------------------------------------------ repository
@router.post("/repository/index", summary="Every registered model version and whether it is loaded")
async def repository_index(request: Request, services: ServicesDep, _p: AdminDep) -> Response:
    body = parse(RepositoryIndexBody, await request.body())
    entries = await dataplane.repository_index(services, ready_only=body.ready)
    return json_response([vars(e) for e in entries])


@router.post("/repository/models/{name}/load", summary="Load (and warm) a model's default version")
async def repository_load(name: str, request: Request, services: ServicesDep, _p: AdminDep) -> Response:
    version = _repository_version(parse(RepositoryActionBody, await request.body()))
    await dataplane.load_model(services, name, version)
    return json_response({})


@router.post("/repository/models/{name}/unload", summary="Unload every loaded version of a model")
async def repository_unload(name: str, request: Request, services: ServicesDep, _p: AdminDep) -> Response:
    parse(RepositoryActionBody, await request.body())
    await dataplane.unload_model(services, name)
    return json_response({})


def _repository_version(body: RepositoryActionBody) -> str | None:
    """Triton's ``config``/``file:`` overrides would change a registered artifact: refused."""
    unsupported = [k for k in body.parameters if k == "config" or k.startswith("file:")]
    if unsupported:
        raise InvalidInput("model repository overrides (config, file:) are not supported; "
                           "register a new version through /api/v1/models instead")
    version = body.parameters.get("version")
    if version is not None and not isinstance(version, str | int):
        raise InvalidInput("parameters.version must be a version number or an alias")
    return None if version is None else str(version)


# ------------------------------------------------------------------------------ translation
def _decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Request bodies compressed by the client (tritonclient's request_compression_algorithm)."""
    if not encoding or encoding == "identity":
        return body
    wbits = {"gzip": 31, "deflate": 15}.get(encoding.strip().lower())
    if wbits is None:
        raise UnsupportedMediaType(f"unsupported Content-Encoding {encoding[:32]!r}; use gzip or deflate")
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise InvalidInput(f"request body is not valid {encoding} data") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed request body exceeds {limit} bytes")
    return out


def parse_infer_body(body: bytes, header_length: str | None) -> tuple[InferenceRequestBody, TensorDict]:
    """The JSON header and the input tensors; binary inputs are views of ``body`` (no copy)."""
    if header_length is None:
        header, binary = body, memoryview(b"")
    else:
        try:
            json_size = int(header_length)
        except ValueError:
            raise InvalidInput("Inference-Header-Content-Length must be an integer") from None
        if not 0 <= json_size <= len(body):
            raise InvalidInput("Inference-Header-Content-Length is larger than the request body")
        header, binary = body[:json_size], memoryview(body)[json_size:]
    parsed = parse(InferenceRequestBody, header)
    inputs: TensorDict = {}
    offset = 0
    for item in parsed.inputs:
        if item.name in inputs:
            raise InvalidInput(f"input {item.name!r} appears twice")
        size: Any = item.parameters.get("binary_data_size")
        if size is None:
            if item.data is None:
                raise InvalidInput(f"input {item.name!r} has neither data nor binary_data_size")
            inputs[item.name] = codec.decode_json(item.name, item.datatype, item.shape, item.data)
            continue
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInput(f"input {item.name!r}: binary_data_size must be a non-negative integer")
        if item.data is not None:
            raise InvalidInput(f"input {item.name!r} has both data and binary_data_size")
        if offset + size > len(binary):
            raise InvalidInput(f"input {item.name!r}: binary data ends before its {size} bytes")
        inputs[item.name] = codec.decode_binary(item.name, item.datatype, item.shape,
                                                binary[offset:offset + size])
        offset += size
    if offset != len(binary):
        raise InvalidInput(f"{len(binary) - offset} bytes of binary data belong to no input")
    return parsed, inputs


def _flag(output: RequestOutput | None, parameters: dict[str, Any], key: str, default: bool) -> bool:
    value = parameters.get(key, default)
    if not isinstance(value, bool):
        where = f"output {output.name!r}" if output else "request"
        raise InvalidInput(f"{where}: parameters.{key} must be true or false")
    return value


def _binary_outputs(parsed: InferenceRequestBody) -> Callable[[str], bool]:
    """Which outputs go back as binary: per output ``binary_data``, else ``binary_data_output``."""
    default = _flag(None, parsed.parameters, "binary_data_output", False)
    chosen: dict[str, bool] = {}
    for output in parsed.outputs or []:
        if output.parameters.get("classification"):
            raise InvalidInput(f"output {output.name!r}: the classification extension is not supported")
        chosen[output.name] = _flag(output, output.parameters, "binary_data", default)
    return lambda name: chosen.get(name, default)


def encode_infer_response(result: InferenceResponse, request_id: str | None,
                          binary: Callable[[str], bool]) -> Response:
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes | memoryview] = []
    for name, arr in result.outputs.items():
        entry: dict[str, Any] = {"name": name, "datatype": codec.datatype_of(arr), "shape": list(arr.shape)}
        if binary(name):
            _, raw = codec.binary_data(arr)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = codec.json_data(arr)
        outputs.append(entry)
    content: dict[str, Any] = {"model_name": result.model, "model_version": str(result.version)}
    if request_id is not None:
        content["id"] = request_id
    if result.parameters:
        content["parameters"] = result.parameters
    content["outputs"] = outputs
    header = dumps(content)
    if not chunks:
        return Response(header, media_type="application/json")
    return Response(b"".join([header, *chunks]), media_type=BINARY_MEDIA_TYPE,
                    headers={"Inference-Header-Content-Length": str(len(header))})
