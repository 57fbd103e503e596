"""Hugging Face transformers models from a local directory or archive: classification, NER, chat.

The task is read from the model's config (``*ForSequenceClassification`` -> text
classification, ``*ForCausalLM``/``*LMHeadModel`` -> text generation). Generation streams with
``TextIteratorStreamer``: ``model.generate`` runs in its own thread and the caller iterates the
decoded pieces; closing the stream (client gone) sets a flag a ``StoppingCriteria`` checks after
every token, so an abandoned request stops computing at once.

Seeded sampling uses torch's global generator, so sampling generations of one model run one at
a time (greedy ones run concurrently); that is what makes ``seed`` reproducible.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from modelport.core.types import TensorDict
from modelport.errors import InvalidInput, ModelError
from modelport.registry.manifest import Signature, TensorSpec
from modelport.runtime.archive import ARCHIVE_SUFFIXES
from modelport.runtime.base import Runtime
from modelport.runtime.device import torch_device
from modelport.runtime.generation import GenerationParams, GenerationResult, StopFilter, parse_messages
from modelport.runtime.hf import first_tensor, model_directory, offline, texts, torch_threads
from modelport.runtime.ner import tag_entities

CLASSIFICATION = "text-classification"
GENERATION = "text-generation"
NER = "token-classification"  # (#19) entities with character offsets, see runtime/ner.py


def detect_task(config: Any) -> str:
    architectures = list(getattr(config, "architectures", None) or [])
    if any(a.endswith("ForSequenceClassification") for a in architectures):
        return CLASSIFICATION
    if any(a.endswith("ForTokenClassification") for a in architectures):
        return NER
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return GENERATION
    raise InvalidInput(
        f"unsupported transformers architecture {architectures or 'unknown'}: modelport serves "
        "*ForSequenceClassification, *ForTokenClassification and *ForCausalLM models"
    )


class _Halt(StoppingCriteria):  # type: ignore[misc]
    """Stops generation when asked (client gone, stop sequence seen) and counts new tokens."""

    def __init__(self, prompt_len: int) -> None:
        self.prompt_len = prompt_len
        self.event = threading.Event()
        self.generated = 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor,
                 **kwargs: Any) -> torch.BoolTensor:
        self.generated = int(input_ids.shape[1]) - self.prompt_len
        flag = self.event.is_set()
        return torch.full((input_ids.shape[0],), flag, dtype=torch.bool, device=input_ids.device)


class _EagerStreamer(TextIteratorStreamer):  # type: ignore[misc]
    """Emits text after every token (the base class waits for a space, so a model that emits
    no spaces would stream nothing until the end and could not be cancelled)."""

    next_tokens_are_prompt: bool
    print_len: int
    token_cache: list[int]

    def put(self, value: torch.Tensor) -> None:
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        self.token_cache.extend(value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
        if text.endswith("\ufffd") or len(text) <= self.print_len:
            return  # an incomplete UTF-8 sequence, or a special token that decodes to nothing
        piece = text[self.print_len:]
        self.print_len = len(text)
        self.on_finalized_text(piece)


class TransformersRuntime(Runtime):
    flavor = "transformers"
    batchable = False  # chat generation is one conversation per call
    suffixes = ARCHIVE_SUFFIXES
    accepts_directory = True

    def load(self) -> None:
        offline()
        torch_threads(self.options)
        model_dir = model_directory(self.artifact, self.options)
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True, trust_remote_code=False)
        self.task = str(self.options.get("task") or detect_task(config))
        # an MLflow model keeps its tokenizer apart from the weights (runtime/mlflow.py says where)
        tokenizer_dir = self.options.get("tokenizer_dir") or model_dir
        self.tokenizer: Any = AutoTokenizer.from_pretrained(
            tokenizer_dir, local_files_only=True, trust_remote_code=False
        )
        cls: Any = {CLASSIFICATION: AutoModelForSequenceClassification,
                    NER: AutoModelForTokenClassification}.get(self.task, AutoModelForCausalLM)
        self.model: Any = cls.from_pretrained(model_dir, local_files_only=True, trust_remote_code=False)
        self.device = torch_device(self.options.get("device"))  # config.device (#18)
        if self.device != "cpu":
            self.model.to(self.device)
        self.model.eval()
        self.config = self.model.config
        self.context = int(getattr(self.config, "n_positions", None)
                           or getattr(self.config, "max_position_embeddings", None) or 2048)
        self.default_max_tokens = int(self.options.get("max_tokens", 64))
        self._sampling = threading.Lock()
        self._tokenize = threading.Lock()
        self.ready = True

    def placement(self) -> str:
        return str(getattr(self, "device", "cpu"))

    # ------------------------------------------------------------ signature
    def infer_signature(self) -> Signature:
        if self.task == NER:
            return Signature(inputs=[TensorSpec(name="text", dtype="str", shape=[-1])],
                             outputs=[TensorSpec(name="entities", dtype="str", shape=[-1])])
        if self.task == CLASSIFICATION:
            labels = len(self.config.id2label)
            return Signature(
                inputs=[TensorSpec(name="text", dtype="str", shape=[-1])],
                outputs=[TensorSpec(name="predictions", dtype="str", shape=[-1]),
                         TensorSpec(name="probabilities", dtype="float32", shape=[-1, labels])],
            )
        return Signature(
            inputs=[TensorSpec(name="messages", dtype="str", shape=[-1])],
            outputs=[TensorSpec(name="text", dtype="str", shape=[-1]),
                     TensorSpec(name="finish_reason", dtype="str", shape=[-1]),
                     TensorSpec(name="prompt_tokens", dtype="int64", shape=[-1]),
                     TensorSpec(name="completion_tokens", dtype="int64", shape=[-1])],
        )

    def warmup(self) -> None:
        if self.task == NER:
            self.predict({"text": np.array(["warm up"], dtype=object)})
            return
        if self.task == CLASSIFICATION:
            self._classify(["warm up"])  # zero-filled warm-up would be "", no tokens for some models
            return
        for _ in self.stream({"messages": np.array(["hi"], dtype=object)}, {"max_tokens": 1,
                                                                            "temperature": 0}):
            pass

    # ------------------------------------------------------------- predict
    def predict(self, inputs: TensorDict) -> TensorDict:
        if self.task == NER:
            sentences = texts(first_tensor(inputs, "text"))
            with self._tokenize:
                encoded = self.tokenizer(sentences, padding=True, truncation=True, return_tensors="pt",
                                         return_offsets_mapping=True)
            return {"entities": tag_entities(self.model, encoded, sentences)}
        if self.task == CLASSIFICATION:
            return self._classify(texts(first_tensor(inputs, "text")))
        rows = texts(first_tensor(inputs, "messages"), "messages")
        outputs: dict[str, list[Any]] = {"text": [], "finish_reason": [], "prompt_tokens": [],
                                         "completion_tokens": []}
        for row in rows:
            gen = self.stream({"messages": np.array([row], dtype=object)}, {"temperature": 0})
            pieces: list[str] = []
            while True:
                try:
                    pieces.append(next(gen))
                except StopIteration as done:
                    result: GenerationResult = done.value
                    break
            outputs["text"].append("".join(pieces))
            outputs["finish_reason"].append(result.finish_reason)
            outputs["prompt_tokens"].append(result.prompt_tokens)
            outputs["completion_tokens"].append(result.completion_tokens)
        return {
            "text": np.array(outputs["text"], dtype=object),
            "finish_reason": np.array(outputs["finish_reason"], dtype=object),
            "prompt_tokens": np.array(outputs["prompt_tokens"], dtype=np.int64),
            "completion_tokens": np.array(outputs["completion_tokens"], dtype=np.int64),
        }

    def _classify(self, sentences: list[str]) -> TensorDict:
        with self._tokenize:
            encoded = self.tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")
        if encoded["input_ids"].shape[1] == 0:
            raise InvalidInput("texts must not be empty for this model")
        if self.device != "cpu":
            encoded = encoded.to(self.device)
        with torch.inference_mode():
            logits = self.model(**encoded).logits
        proba = torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float32)
        id2label = self.config.id2label
        labels = np.array([str(id2label[int(i)]) for i in proba.argmax(axis=1)], dtype=object)
        return {"predictions": labels, "probabilities": proba}

    # -------------------------------------------------------------- stream
    def _prompt_ids(self, row: str) -> Any:
        messages = parse_messages(row)
        if getattr(self.tokenizer, "chat_template", None):
            prompt = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                        tokenize=False)
        else:
            prompt = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        with self._tokenize:
            ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        return ids.to(self.device) if self.device != "cpu" else ids

    def stream(self, inputs: TensorDict,
               parameters: dict[str, Any]) -> Generator[str, None, GenerationResult]:
        """Yield decoded text pieces; the generator's return value is a :class:`GenerationResult`."""
        if self.task != GENERATION:
            raise InvalidInput(f"this {self.task} model does not generate text")
        rows = texts(first_tensor(inputs, "messages"), "messages")
        if len(rows) != 1:
            raise InvalidInput("streaming takes exactly one conversation")
        params = GenerationParams.parse(parameters, default_max_tokens=self.default_max_tokens)
        ids = self._prompt_ids(rows[0])
        prompt_len = int(ids.shape[1])
        if prompt_len >= self.context:
            raise InvalidInput(f"prompt has {prompt_len} tokens; this model's context is {self.context}")
        max_new = min(params.max_tokens, self.context - prompt_len)
        halt = _Halt(prompt_len)
        streamer = _EagerStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=0.2)
        kwargs: dict[str, Any] = {
            "input_ids": ids, "attention_mask": torch.ones_like(ids), "max_new_tokens": max_new,
            "streamer": streamer, "stopping_criteria": StoppingCriteriaList([halt]),
            "pad_token_id": self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None
            else self.config.eos_token_id,
        }
        if params.greedy:
            kwargs.update(do_sample=False)
        else:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    if params.greedy:
                        self.model.generate(**kwargs)
                    else:
                        with self._sampling:
                            if params.seed is not None:
                                torch.manual_seed(params.seed)
                            self.model.generate(**kwargs)
            except BaseException as exc:  # reported to the consumer below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="generate", daemon=True)
        thread.start()
        stops = StopFilter(params.stop)
        cancelled = True  # until the loop finishes on its own
        try:
            while True:
                try:
                    piece = next(streamer)
                except queue.Empty:
                    if thread.is_alive():
                        continue
                    break
                except StopIteration:
                    break
                out = stops.feed(piece)
                if out:
                    yield out
                if stops.hit:
                    halt.event.set()
                    break
            tail = stops.flush()
            if tail:
                yield tail
            cancelled = False
        finally:
            halt.event.set()
            thread.join()
        if failure:
            raise ModelError(f"generation failed: {type(failure[0]).__name__}") from failure[0]
        generated = halt.generated
        if cancelled:
            reason = "cancelled"
        elif stops.hit:
            reason = "stop"
        elif generated >= max_new:
            reason = "length"
        else:
            reason = "stop"
        return GenerationResult(prompt_tokens=prompt_len, completion_tokens=generated, finish_reason=reason)

    def unload(self) -> None:
        self.model = None
        super().unload()
