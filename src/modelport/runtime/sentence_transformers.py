"""Sentence embeddings through sentence-transformers, from a model directory or archive.

Input ``text`` (str, one sentence per row); outputs ``embeddings`` (float32, ``[N, dim]``) and
``token_counts`` (int64, tokens each sentence used after truncation, for usage accounting).
Batchable: the batcher merges concurrent single-sentence requests into one ``encode`` call.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.registry.manifest import Signature, TensorSpec
from modelport.runtime.archive import ARCHIVE_SUFFIXES
from modelport.runtime.base import Runtime
from modelport.runtime.device import torch_device
from modelport.runtime.hf import first_tensor, model_directory, offline, texts, torch_threads


class SentenceTransformersRuntime(Runtime):
    flavor = "sentence-transformers"
    batchable = True
    suffixes = ARCHIVE_SUFFIXES
    accepts_directory = True

    def load(self) -> None:
        offline()
        torch_threads(self.options)
        from sentence_transformers import SentenceTransformer

        model_dir = model_directory(self.artifact, self.options)
        self.device = torch_device(self.options.get("device"))  # config.device (#18)
        self.model: Any = SentenceTransformer(
            str(model_dir), device=self.device, local_files_only=True, trust_remote_code=False
        )
        self.model.eval()
        self.dimension = int(self.model.get_embedding_dimension())
        # sentence-transformers 6 renamed ``tokenize`` to ``preprocess``
        self._preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize
        # fast tokenizers are not safe to call from two threads at once ("Already borrowed")
        self._lock = threading.Lock()
        self.ready = True

    def predict(self, inputs: TensorDict) -> TensorDict:
        sentences = texts(first_tensor(inputs, "text"))
        with self._lock:
            embeddings = self.model.encode(
                sentences, batch_size=max(1, len(sentences)), convert_to_numpy=True,
                show_progress_bar=False,
            )
            features = self._preprocess(sentences)
        counts = np.asarray(features["attention_mask"].sum(dim=1).cpu().numpy(), dtype=np.int64)
        return {"embeddings": np.asarray(embeddings, dtype=np.float32), "token_counts": counts}

    def infer_signature(self) -> Signature:
        return Signature(
            inputs=[TensorSpec(name="text", dtype="str", shape=[-1])],
            outputs=[
                TensorSpec(name="embeddings", dtype="float32", shape=[-1, self.dimension]),
                TensorSpec(name="token_counts", dtype="int64", shape=[-1]),
            ],
        )

    def placement(self) -> str:
        return str(getattr(self, "device", "cpu"))

    def unload(self) -> None:
        self.model = None
        super().unload()
