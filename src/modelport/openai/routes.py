"""The ``/v1`` router: thin translation to the core, errors as OpenAI error objects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response, StreamingResponse

from modelport.errors import ModelNotFound, ModelportError
from modelport.observability.context import current_request_id
from modelport.openai import chat
from modelport.openai.embeddings import create_embeddings
from modelport.openai.errors import OpenAIRoute
from modelport.openai.kinds import SERVED_BY_V1, kind_of
from modelport.openai.models import split_model
from modelport.openai.schemas import ChatCompletionRequest, EmbeddingRequest
from modelport.web.gate import PredictDep, ReadDep, ServicesDep
from modelport.web.responses import FastJSONResponse

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)


def _model_object(name: str, created: float) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": int(created), "owned_by": "modelport"}


@router.get("/models", summary="List the chat and embedding models /v1 serves (OpenAI format)")
async def list_models(services: ServicesDep, _p: ReadDep) -> FastJSONResponse:
    data = []
    for m in await services.registry.list_models():
        try:  # what a bare name resolves to (production, else latest) is what /v1 would serve
            info = await services.registry.resolve(m.name, None)
        except ModelportError as exc:
            if exc.status >= 500:  # a slow or failing registry: a 503, not a list missing models
                raise
            continue
        if kind_of(info) in SERVED_BY_V1:
            data.append(_model_object(m.name, m.created_at.timestamp()))
    return FastJSONResponse({"object": "list", "data": data})


@router.get("/models/{model}", summary="Retrieve a model (OpenAI format)")
async def retrieve_model(model: str, services: ServicesDep, _p: ReadDep) -> FastJSONResponse:
    name, version = split_model(model)
    try:
        info = await services.registry.resolve(name, version)
    except ModelNotFound:
        raise ModelNotFound(f"The model `{model[:128]}` does not exist") from None
    return FastJSONResponse(_model_object(model, info.created_at.timestamp()))


@router.post("/embeddings", summary="Create embeddings (OpenAI format)")
async def embeddings(body: EmbeddingRequest, services: ServicesDep,
                     principal: PredictDep) -> FastJSONResponse:
    result = await create_embeddings(services.inference, body, request_id=current_request_id(),
                                     principal=principal.id)
    return FastJSONResponse(result)


@router.post("/chat/completions", summary="Create a chat completion, streamed with SSE if asked")
async def chat_completions(body: ChatCompletionRequest, services: ServicesDep,
                           principal: PredictDep) -> Response:
    stream = await chat.start(services.inference, body, request_id=current_request_id(),
                              principal=principal.id, max_tokens_limit=services.settings.text.chat_max_tokens)
    if not body.stream:
        try:
            return FastJSONResponse(await chat.complete(stream, body.model))
        finally:
            stream.cancel()
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(chat.sse(stream, body.model, include_usage), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
