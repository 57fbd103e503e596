"""NER through the transformers runtime: a tiny BERT token classifier built here, offline.

The classifier head is set by hand (zero weights, one label's bias high) so the labels are
known: every token ``B-PER`` gives one entity per word, every token ``I-PER`` one entity over
the whole text; either way each entity's offsets cut its word out of the input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from modelport.runtime.ner import group
from tests.text.conftest import requires_text

pytestmark = [pytest.mark.text, requires_text, pytest.mark.timeout(180)]
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
TEXT = "alice lives in paris"


def build_tiny_ner(out: Path, label: str) -> Path:
    import torch
    from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast

    vocab = out / "vocab.txt"
    out.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "alice", "lives", "in",
                                "paris", "bob"]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    config = BertConfig(vocab_size=10, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64,
                        id2label=dict(enumerate(LABELS)), label2id={v: i for i, v in enumerate(LABELS)})
    torch.manual_seed(0)
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[LABELS.index(label)] = 5.0
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture
async def app(make_settings: Any, tmp_path: Path) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(demo_models=True, demo_text_models=False))
    async with application.router.lifespan_context(application):
        services = application.state.services
        for name, label in (("ner-b", "B-PER"), ("ner-i", "I-PER")):
            await services.models.register_file(name, "transformers", build_tiny_ner(tmp_path / name, label),
                                                aliases=["production"])
        yield application


async def test_entities_with_character_offsets(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/ner-b/ner", json={"inputs": [TEXT, "bob"]})
    assert r.status_code == 200, r.text
    body = r.json()
    words = [(e["entity"], e["word"], e["start"], e["end"]) for e in body["entities"][0]]
    assert words == [("PER", "alice", 0, 5), ("PER", "lives", 6, 11), ("PER", "in", 12, 14),
                     ("PER", "paris", 15, 20)]
    assert body["entities"][1] == [{"entity": "PER", "start": 0, "end": 3, "word": "bob",
                                    "score": body["entities"][1][0]["score"]}]
    assert 0.5 < body["entities"][1][0]["score"] <= 1
    r = await client.post("/api/v1/models/ner-i/ner", json={"inputs": TEXT})
    [entity] = r.json()["entities"][0]
    assert (entity["word"], entity["start"], entity["end"]) == (TEXT, 0, len(TEXT))


async def test_ner_of_another_kind_of_model_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/models/iris/ner", json={"inputs": "x"})
    assert r.status_code == 400 and "not a token-classification" in r.json()["detail"]


def test_grouping_rules() -> None:
    text = "Ann Lee in Rome"
    labels = ["O", "B-PER", "I-PER", "O", "I-LOC", "O"]
    offsets = [(0, 0), (0, 3), (4, 7), (8, 10), (11, 15), (0, 0)]
    found = group(text, labels, [1.0, 0.9, 0.7, 1.0, 0.8, 1.0], offsets)
    assert found == [{"entity": "PER", "start": 0, "end": 7, "word": "Ann Lee", "score": 0.8},
                     {"entity": "LOC", "start": 11, "end": 15, "word": "Rome", "score": 0.8}]
