"""Text generation plumbing shared by chat runtimes: parameters, prompts, stop sequences.

Kept free of torch so the OpenAI edge and tests can use it without the ``[text]`` extra.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidInput

ROLES = ("system", "user", "assistant", "developer", "tool")
MAX_STOPS = 4


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling knobs, validated once; ``temperature == 0`` means greedy decoding."""

    max_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    @classmethod
    def parse(cls, parameters: dict[str, Any], *, default_max_tokens: int = 64,
              limit: int = 4096) -> GenerationParams:
        max_tokens = parameters.get("max_tokens")
        if max_tokens is None:
            max_tokens = default_max_tokens
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= limit:
            raise InvalidInput(f"max_tokens must be an integer between 1 and {limit}")
        temperature = _number(parameters.get("temperature", 1.0), "temperature", 0.0, 2.0)
        top_p = _number(parameters.get("top_p", 1.0), "top_p", 0.0, 1.0)
        if top_p == 0.0:
            raise InvalidInput("top_p must be greater than 0")
        stop = parameters.get("stop") or ()
        if isinstance(stop, str):
            stop = (stop,)
        if not isinstance(stop, list | tuple) or len(stop) > MAX_STOPS or not all(
            isinstance(s, str) and 0 < len(s) <= 256 for s in stop
        ):
            raise InvalidInput(f"stop must be a string or a list of up to {MAX_STOPS} non-empty strings")
        seed = parameters.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or not -(2**63) <= seed < 2**63):
            raise InvalidInput("seed must be a 64-bit integer")
        return cls(max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=tuple(stop),
                   seed=seed)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number between {low:g} and {high:g}")
    if not low <= float(value) <= high:
        raise InvalidInput(f"{name} must be between {low:g} and {high:g}")
    return float(value)


@dataclass(slots=True)
class GenerationResult:
    """What a finished generation reports next to its text (usage and why it stopped)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length" | "cancelled"


def parse_messages(raw: str) -> list[dict[str, str]]:
    """A chat row: a JSON array of ``{role, content}`` messages, or plain text (one user turn)."""
    stripped = raw.lstrip()
    if not stripped.startswith("["):
        return [{"role": "user", "content": raw}]
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return [{"role": "user", "content": raw}]
    if not isinstance(data, list) or not data:
        raise InvalidInput("messages must be a non-empty list")
    messages = []
    for i, msg in enumerate(data):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES or not isinstance(
            msg.get("content"), str
        ):
            raise InvalidInput(f"messages[{i}] must be an object with a role ({', '.join(ROLES)}) "
                               "and a string content")
        messages.append({"role": str(msg["role"]), "content": str(msg["content"])})
    return messages


class StopFilter:
    """Cuts streamed text at the first stop sequence, holding back text that may start one.

    Pieces arrive token by token, so a stop sequence can straddle pieces; the filter emits only
    text that can no longer become part of a stop sequence.
    """

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.buffer = ""
        self.hit = False

    def feed(self, piece: str) -> str:
        if self.hit:
            return ""
        if not self.stops:
            return piece
        self.buffer += piece
        positions = [i for s in self.stops if (i := self.buffer.find(s)) >= 0]
        if positions:
            out = self.buffer[: min(positions)]
            self.buffer = ""
            self.hit = True
            return out
        keep = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.buffer)), 0, -1):
                if self.buffer.endswith(s[:k]):
                    keep = max(keep, k)
                    break
        out = self.buffer[: len(self.buffer) - keep]
        self.buffer = self.buffer[len(self.buffer) - keep:]
        return out

    def flush(self) -> str:
        out = "" if self.hit else self.buffer
        self.buffer = ""
        return out
