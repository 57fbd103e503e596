"""What the registry knows about a model version: its signature and serving settings.

The signature lists named input and output tensors with a dtype and a shape in which ``-1``
marks a free dimension (the batch dimension is always the first). The core validates every
request against it before any model code runs.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_NAME_RE = re.compile(NAME_PATTERN)
ALIAS_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
_ALIAS_RE = re.compile(ALIAS_PATTERN)

DType = Literal[
    "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "float16", "float32", "float64", "bytes", "str",
]


def is_valid_name(name: str) -> bool:
    """Model names become path segments in the store, so they may never escape it."""
    return bool(_NAME_RE.match(name)) and ".." not in name


def is_valid_alias(alias: str) -> bool:
    return bool(_ALIAS_RE.match(alias))


class TensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    dtype: DType = "float64"
    shape: list[int] = Field(default_factory=lambda: [-1], min_length=1, max_length=8)

    @field_validator("shape")
    @classmethod
    def _dims(cls, shape: list[int]) -> list[int]:
        if any(d < -1 or d == 0 for d in shape):
            raise ValueError("dimensions are positive integers or -1 (free)")
        return shape


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[TensorSpec] = Field(min_length=1, max_length=64)
    outputs: list[TensorSpec] = Field(default_factory=list, max_length=64)

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)


class ServingConfig(BaseModel):
    """Per-version serving knobs; ``None`` falls back to the server's settings."""

    model_config = ConfigDict(extra="forbid")

    max_batch_size: int | None = Field(default=None, ge=1, le=4096)
    max_latency_ms: float | None = Field(default=None, ge=0, le=10_000)
    max_queue: int | None = Field(default=None, ge=1, le=1_000_000)
    workers: int | None = Field(default=None, ge=0, le=32)
    capture: Literal["full", "hash", "none"] | None = None
    capture_max_bytes: int | None = Field(default=None, ge=0, le=1_000_000)
    preprocessing: dict[str, Any] = Field(default_factory=dict)
    # --- bring your own model (#18): where torch-based runtimes and ONNX Runtime place the model
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda|cuda:\d{1,2})$")
    # --- seeds (#19): rows answered below it are flagged low_confidence (a request may override)
    confidence_threshold: float | None = Field(default=None, ge=0, le=1)


class ModelVersionInfo(BaseModel):
    """A registered version as stored in the database."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    version: int
    flavor: str
    artifact_key: str
    sha256: str
    size_bytes: int
    signature: Signature
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    config: ServingConfig = Field(default_factory=ServingConfig)
    created_at: datetime
    job_id: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)


class ModelInfo(BaseModel):
    name: str
    description: str = ""
    created_at: datetime
    versions: list[ModelVersionInfo] = Field(default_factory=list)
    aliases: dict[str, int] = Field(default_factory=dict)
