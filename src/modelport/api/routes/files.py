"""``POST /api/v1/models/{name}/predict/file``: predict on an uploaded image."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from modelport.api.deps import PredictDep, ServicesDep
from modelport.api.routes.predict import encode
from modelport.api.schemas import PredictResponse
from modelport.core.images import decode, image_config, to_inputs
from modelport.core.types import InferenceRequest
from modelport.errors import PayloadTooLarge
from modelport.observability.context import current_request_id
from modelport.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1/models", tags=["predict"])
CHUNK = 256 * 1024


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while chunk := await upload.read(CHUNK):
        data.extend(chunk)
        if len(data) > limit:
            raise PayloadTooLarge(f"upload exceeds the image limit of {limit} bytes")
    return bytes(data)


@router.post("/{name}/predict/file", response_model=PredictResponse,
             summary="Predict on an uploaded image (preprocessed per the model's serving config)")
async def predict_file(
    name: str, services: ServicesDep, principal: PredictDep,
    file: Annotated[UploadFile, File(description="An image: PNG, JPEG, GIF, BMP, WEBP or TIFF")],
    version: Annotated[str | None, Form(max_length=64)] = None,
) -> FastJSONResponse:
    settings = services.settings
    info = await services.inference.resolve(name, version)
    config = image_config(info.config.preprocessing, name)
    data = await read_limited(file, settings.text.max_image_bytes)
    image = decode(data, file.content_type, settings.text.max_image_pixels)
    inputs = to_inputs(image, config, info.signature)
    result = await services.inference.infer(InferenceRequest(
        model=name, version=str(info.version), inputs=inputs, request_id=current_request_id(),
        protocol="rest", principal=principal.id, resolved=info,
    ))
    return FastJSONResponse(encode(result))
