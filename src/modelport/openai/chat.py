"""``POST /v1/chat/completions``: one conversation through ``InferenceService.stream``.

Both modes use the streaming core path (a chat model is not batchable and sampling parameters
are per request), so a streamed answer joins to exactly the text a non-streamed one returns for
the same seed. SSE chunks follow OpenAI's: one id/created for every chunk, the role in the first
delta, ``finish_reason`` in the last choice chunk, an optional usage chunk with no choices, then
``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson

from modelport.core.inference import InferenceService
from modelport.core.streaming import TokenStream
from modelport.core.types import InferenceRequest
from modelport.errors import InvalidInput, ModelportError
from modelport.openai.errors import error_body
from modelport.openai.kinds import kind_of, wrong_kind
from modelport.openai.models import split_model
from modelport.openai.schemas import ChatCompletionRequest, ChatMessage
from modelport.runtime.generation import GenerationResult


def message_text(message: ChatMessage, index: int) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise InvalidInput(f"messages[{index}]: only text content parts are supported")
        parts.append(part.text)
    return "".join(parts)


def parameters(body: ChatCompletionRequest, limit: int) -> dict[str, Any]:
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is not None and max_tokens > limit:
        raise InvalidInput(f"max_tokens is {max_tokens}; the maximum is {limit}")
    params: dict[str, Any] = {
        "temperature": 1.0 if body.temperature is None else body.temperature,
        "top_p": 1.0 if body.top_p is None else body.top_p,
    }
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if body.stop:
        params["stop"] = [body.stop] if isinstance(body.stop, str) else list(body.stop)
    if body.seed is not None:
        params["seed"] = body.seed
    return params


async def start(inference: InferenceService, body: ChatCompletionRequest, *, request_id: str,
                principal: str | None, max_tokens_limit: int) -> TokenStream:
    name, version = split_model(body.model)
    messages = [{"role": m.role, "content": message_text(m, i)} for i, m in enumerate(body.messages)]
    info = await inference.resolve_for(InferenceRequest(
        model=name, version=version, inputs={}, request_id=request_id, protocol="openai",
        principal=principal))
    spec = info.signature.inputs[0]
    if kind_of(info) != "chat":
        raise InvalidInput(wrong_kind(info, "chat"))
    return await inference.stream(InferenceRequest(
        model=name, version=version, inputs={spec.name: np.array([json.dumps(messages)], dtype=object)},
        parameters=parameters(body, max_tokens_limit), request_id=request_id, protocol="openai",
        principal=principal,
    ))


def usage(result: GenerationResult | None) -> dict[str, int]:
    prompt = result.prompt_tokens if result else 0
    completion = result.completion_tokens if result else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def finish_reason(result: GenerationResult | None) -> str:
    reason = result.finish_reason if result else "stop"
    return reason if reason in ("stop", "length") else "stop"


async def complete(stream: TokenStream, model: str) -> dict[str, Any]:
    text = await stream.collect()
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": None,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                     "logprobs": None, "finish_reason": finish_reason(stream.result)}],
        "usage": usage(stream.result),
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


async def sse(stream: TokenStream, model: str, include_usage: bool) -> AsyncIterator[bytes]:
    """The SSE body; if the client goes away the stream is cancelled and generation stops."""
    base: dict[str, Any] = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
                            "created": int(time.time()), "model": model, "system_fingerprint": None}
    extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], reason: str | None = None) -> bytes:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                          "finish_reason": reason}], **extra})

    try:
        yield chunk({"role": "assistant", "content": ""})
        async for piece in stream:
            yield chunk({"content": piece})
        yield chunk({}, finish_reason(stream.result))
        if include_usage:
            yield _sse({**base, "choices": [], "usage": usage(stream.result)})
    except ModelportError as exc:
        yield _sse(error_body(exc.public_detail, exc.status, code=exc.code))
    finally:
        stream.cancel()  # no-op when finished; stops the model when the client disconnected
    yield b"data: [DONE]\n\n"
