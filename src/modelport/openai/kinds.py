"""What a model version is, read from its signature, and which route serves that kind.

``/v1`` serves chat models (``/v1/chat/completions``) and embedding models (``/v1/embeddings``);
``/v1/models`` lists only those, and a request of the wrong kind is told what the model is and
where to send it instead of a generic error.
"""

from __future__ import annotations

from typing import Literal

from modelport.registry.manifest import ModelVersionInfo

Kind = Literal["chat", "embeddings", "text-classification", "ner", "tabular"]
ROUTES: dict[Kind, str] = {
    "chat": "POST /v1/chat/completions",
    "embeddings": "POST /v1/embeddings",
    "text-classification": "POST /api/v1/models/{name}/classify",
    "ner": "POST /api/v1/models/{name}/ner",
    "tabular": "POST /api/v1/models/{name}/predict",
}
SERVED_BY_V1: frozenset[Kind] = frozenset({"chat", "embeddings"})


def kind_of(info: ModelVersionInfo) -> Kind:
    sig = info.signature
    if not sig.inputs or sig.inputs[0].dtype not in ("str", "bytes"):
        return "tabular"
    outputs = {o.name for o in sig.outputs}
    if sig.inputs[0].name == "messages" or "finish_reason" in outputs:
        return "chat"
    if "entities" in outputs:
        return "ner"
    if "embeddings" in outputs or info.flavor == "sentence-transformers":
        return "embeddings"
    return "text-classification"


def wrong_kind(info: ModelVersionInfo, wanted: Kind) -> str:
    """The message for a ``wanted`` request to a model of another kind."""
    kind = kind_of(info)
    route = ROUTES[kind].format(name=info.name)
    return f"model {info.name!r} is {_a(kind)} model, not {_a(wanted)} model; send it to {route}"


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
