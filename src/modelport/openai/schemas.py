"""OpenAI request bodies, validated with the same limits OpenAI documents where it matters."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OpenAIBody(BaseModel):
    # the SDK may send parameters modelport does not use (user, metadata, ...): accepted, ignored
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class ContentPart(OpenAIBody):
    type: str = Field(max_length=64)
    text: str | None = None


class ChatMessage(OpenAIBody):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=256)


class StreamOptions(OpenAIBody):
    include_usage: bool = False


class ChatCompletionRequest(OpenAIBody):
    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=1024)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**63)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1, description="only one choice per request is supported")


class EmbeddingRequest(OpenAIBody):
    model: str = Field(min_length=1, max_length=256)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
