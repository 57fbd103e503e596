"""Reading embeddings out of a model's outputs, shared by /v1/embeddings, /embed and search."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.core.types import Tensor, TensorDict
from modelport.errors import InvalidInput


def embedding_output(outputs: TensorDict) -> Tensor:
    """The ``embeddings`` output, else the first 2-D float output, as float32."""
    if "embeddings" in outputs:
        return np.asarray(outputs["embeddings"], dtype=np.float32)
    for value in outputs.values():
        arr = np.asarray(value)
        if arr.ndim == 2 and arr.dtype.kind == "f":
            return arr.astype(np.float32)
    raise InvalidInput("this model does not produce embeddings")


def normalize(vectors: Tensor) -> Tensor:
    """Unit-length rows (cosine similarity becomes a dot product); zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Any = vectors / np.where(norms == 0, 1.0, norms)
    return np.asarray(out, dtype=np.float32)
