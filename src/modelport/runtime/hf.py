"""Helpers shared by the Hugging Face runtimes: model directories, text inputs, quiet loading.

Nothing here imports torch or transformers at module level: the core install stays light and a
server without the ``[text]`` extra starts (those flavors then answer with a clear 400).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from modelport.core.types import Tensor
from modelport.errors import InvalidInput
from modelport.runtime.archive import unpack_checked


def model_directory(artifact: Path, options: dict[str, Any]) -> Path:
    """Unpack the artifact (or use the directory) and refuse pickle weights unless allowed."""
    return unpack_checked(artifact, options)


def torch_threads(options: dict[str, Any]) -> None:
    """One intra-op thread by default, like the ONNX runtime: the manager already runs models on
    several threads, and oversubscribed cores made a tiny model 7x slower here."""
    import torch

    torch.set_num_threads(max(1, int(options.get("intra_op_threads", 1))))


def offline() -> None:
    """Never reach a model hub: every file must be in the artifact."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers is part of the same extra
        pass


def texts(arr: Tensor, name: str = "text") -> list[str]:
    """Rows of a str/bytes tensor as Python strings (bytes are decoded as UTF-8)."""
    out: list[str] = []
    for value in np.asarray(arr, dtype=object).reshape(-1):
        if isinstance(value, bytes | bytearray):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"input {name!r} holds bytes that are not UTF-8 text") from None
        elif not isinstance(value, str):
            raise InvalidInput(f"input {name!r} must hold strings")
        out.append(value)
    return out


def first_tensor(inputs: dict[str, Tensor], preferred: str) -> Tensor:
    return inputs[preferred] if preferred in inputs else next(iter(inputs.values()))
