"""Canonical request/response types shared by every protocol edge.

An edge parses its wire format into an :class:`InferenceRequest` (named numpy tensors plus
parameters), calls :meth:`InferenceService.infer`, and encodes the :class:`InferenceResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy.typing as npt

if TYPE_CHECKING:
    from modelport.registry.manifest import ModelVersionInfo

Tensor = npt.NDArray[Any]
TensorDict = dict[str, Tensor]


@dataclass(slots=True)
class InferenceRequest:
    """One inference call, independent of protocol.

    ``version`` is a version number ("3"), an alias ("production", "latest") or None for the
    model's default (``production`` when set, otherwise ``latest``).
    """

    model: str
    inputs: TensorDict
    version: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] | None = None
    request_id: str = ""
    protocol: str = "rest"
    principal: str | None = None
    use_cache: bool = True
    deadline: float | None = None  # absolute time.monotonic() after which the work is dropped
    #: the version the edge already resolved (to read its signature): the core uses the same one
    #: rather than resolving again, so both agree even if an alias moves in between
    resolved: ModelVersionInfo | None = None
    # --- traffic control (#20): set by the alias's policy (core/traffic.py)
    arm: str | None = None  # "primary" | "canary" when a split policy chose the version
    shadow: int | None = None  # the version this request is mirrored to, if any


@dataclass(slots=True)
class InferenceResponse:
    model: str
    version: int
    outputs: TensorDict
    latency_ms: float
    request_id: str = ""
    alias: str | None = None
    cached: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)


def batch_rows(inputs: TensorDict) -> int:
    """Number of rows (first dimension) of a request; all inputs share it after validation."""
    for arr in inputs.values():
        return int(arr.shape[0]) if arr.ndim else 1
    return 0
