"""Model references as OpenAI clients send them: ``name`` or ``name:version`` / ``name:alias``."""

from __future__ import annotations


def split_model(model: str) -> tuple[str, str | None]:
    name, sep, ref = model.partition(":")
    return name, (ref or None) if sep else None
