"""Token classification (NER): per-token labels grouped into entities with character offsets.

The tokenizer's offset mapping ties each token to its span of the input, so an entity is
``{"entity", "start", "end", "word", "score"}`` with ``text[start:end] == word``. Grouping is
the usual BIO rule: ``B-X`` (or an ``I-X`` after something else) starts an entity of type X,
``I-X`` continues it, ``O`` ends it; the score is the mean of its tokens' probabilities.
Each text's entities travel through the core as one JSON string (object tensors stay flat).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch


def _type(label: str) -> tuple[str, str]:
    """("B", "PER") from "B-PER"; ("", "O") for "O"; ("B", "MISC") for an unprefixed label."""
    if label == "O":
        return "", "O"
    prefix, sep, kind = label.partition("-")
    return (prefix, kind) if sep and prefix in ("B", "I") else ("B", label)


def group(text: str, labels: list[str], scores: list[float], offsets: list[tuple[int, int]]
          ) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    token_scores: list[float] = []

    def close() -> None:
        if current is not None:
            current["score"] = round(float(np.mean(token_scores)), 6)
            current["word"] = text[current["start"]:current["end"]]
            entities.append(current)

    for label, score, (start, end) in zip(labels, scores, offsets, strict=True):
        if start == end:  # special and padding tokens
            continue
        prefix, kind = _type(label)
        if kind == "O":
            close()
            current = None
        elif prefix == "I" and current is not None and current["entity"] == kind:
            current["end"] = end
            token_scores.append(score)
        else:
            close()
            current = {"entity": kind, "start": start, "end": end}
            token_scores = [score]
    close()
    return entities


def tag_entities(model: Any, encoded: Any, sentences: list[str]) -> np.ndarray[Any, Any]:
    offsets = encoded.pop("offset_mapping").tolist()
    with torch.inference_mode():
        logits = model(**encoded).logits
    proba = torch.softmax(logits.float(), dim=-1)
    best, ids = proba.max(dim=-1)
    id2label = model.config.id2label
    out = []
    for i, text in enumerate(sentences):
        labels = [str(id2label[int(k)]) for k in ids[i].tolist()]
        spans = [(int(a), int(b)) for a, b in offsets[i]]
        out.append(json.dumps(group(text, labels, best[i].tolist(), spans)))
    return np.array(out, dtype=object)
