"""``POST /v1/embeddings``: texts through the core (batching, logging, metrics apply)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from modelport.core.embeddings import embedding_output
from modelport.core.inference import InferenceService
from modelport.core.types import InferenceRequest
from modelport.errors import InvalidInput
from modelport.openai.kinds import kind_of, wrong_kind
from modelport.openai.models import split_model
from modelport.openai.schemas import EmbeddingRequest


def input_texts(body: EmbeddingRequest) -> list[str]:
    raw = body.input
    if isinstance(raw, str):
        return [raw]
    if not raw:
        raise InvalidInput("input must not be empty")
    if all(isinstance(x, str) for x in raw):
        return [str(x) for x in raw]
    raise InvalidInput("token-id inputs are not supported; send the text itself")


async def create_embeddings(inference: InferenceService, body: EmbeddingRequest, *, request_id: str,
                            principal: str | None) -> dict[str, Any]:
    name, version = split_model(body.model)
    sentences = input_texts(body)
    info = await inference.resolve(name, version)
    spec = info.signature.inputs[0]
    if kind_of(info) != "embeddings":
        raise InvalidInput(wrong_kind(info, "embeddings"))
    result = await inference.infer(InferenceRequest(
        model=name, version=version, inputs={spec.name: np.array(sentences, dtype=object)},
        request_id=request_id, protocol="openai", principal=principal,
    ))
    vectors = embedding_output(result.outputs)
    if body.dimensions is not None and body.dimensions != vectors.shape[1]:
        raise InvalidInput(f"model {name!r} makes {vectors.shape[1]}-dimensional embeddings; "
                           f"dimensions={body.dimensions} is not supported")
    tokens = int(np.asarray(result.outputs.get("token_counts", [0])).sum())
    data = []
    for i, vec in enumerate(vectors):
        embedding: Any = (base64.b64encode(vec.astype("<f4").tobytes()).decode("ascii")
                          if body.encoding_format == "base64" else vec.tolist())
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    return {"object": "list", "data": data, "model": body.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
