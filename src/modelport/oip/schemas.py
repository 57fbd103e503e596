"""JSON bodies of the OIP REST API (``$inference_request`` and friends), validated by pydantic.

``data`` stays ``Any``: tensors are decoded by :mod:`modelport.oip.codec`, which checks them
against ``shape`` and ``datatype`` without a second pass over every element here.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from modelport.errors import InvalidInput

MAX_TENSORS = 64
Parameters = dict[str, Any]


class Body(BaseModel):
    # Unknown fields are ignored: OIP clients send vendor extensions we have no use for.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class RequestInput(Body):
    name: str = Field(min_length=1, max_length=128)
    shape: list[StrictInt] = Field(max_length=16)
    datatype: str = Field(max_length=16)
    parameters: Parameters = Field(default_factory=dict)
    data: Any = None


class RequestOutput(Body):
    name: str = Field(min_length=1, max_length=128)
    parameters: Parameters = Field(default_factory=dict)


class InferenceRequestBody(Body):
    id: str | None = Field(default=None, max_length=256)
    parameters: Parameters = Field(default_factory=dict)
    inputs: list[RequestInput] = Field(min_length=1, max_length=MAX_TENSORS)
    outputs: list[RequestOutput] | None = Field(default=None, max_length=MAX_TENSORS)


class RepositoryIndexBody(Body):
    ready: StrictBool = False


class RepositoryActionBody(Body):
    parameters: Parameters = Field(default_factory=dict)


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error.get("loc", ())) or "body"


BodyT = TypeVar("BodyT", bound=Body)


def parse(model: type[BodyT], raw: bytes) -> BodyT:
    """Validate a JSON body; errors name the fields but never echo their values."""
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        if any(e.get("type") == "json_invalid" for e in errors):
            raise InvalidInput("request body is not valid JSON") from None
        detail = "; ".join(f"{_where(e)}: {e.get('msg', 'invalid')}" for e in errors[:3])
        raise InvalidInput(f"invalid request: {detail}") from None
