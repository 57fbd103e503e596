"""``/embed`` and ``/classify`` in /api/v1; registering an HF directory and an uploaded archive."""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from modelport.app import create_app
from modelport.settings import Settings
from tests.text.conftest import Artifacts, auth_headers, requires_text

pytestmark = [pytest.mark.text, requires_text]


@pytest.fixture
async def text_client(artifacts: Artifacts, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(_env_file=None, home=tmp_path / "home", demo_models=False,  # type: ignore[call-arg]
                        log_format="console", grpc_enabled=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        models = app.state.services.models
        await models.register_file("minilm", "sentence-transformers", artifacts.minilm_zip)
        await models.register_file("topics", "transformers", artifacts.classifier_dir)  # a directory
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=auth_headers(settings.home)) as client:
            yield client


async def test_embed(text_client: httpx.AsyncClient) -> None:
    r = await text_client.post("/api/v1/models/minilm/embed",
                               json={"inputs": ["a dog runs in the park", "a puppy plays outside",
                                                "tax law"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dimensions"] == 384 and len(body["embeddings"]) == 3
    e = np.asarray(body["embeddings"])
    assert e[0] @ e[1] > e[0] @ e[2]
    assert all(n > 2 for n in body["token_counts"])
    r = await text_client.post("/api/v1/models/minilm/embed", json={"inputs": "one"})
    assert len(r.json()["embeddings"]) == 1
    assert (await text_client.post("/api/v1/models/minilm/embed", json={"inputs": []})).status_code == 400
    assert (await text_client.post("/api/v1/models/minilm/embed", json={"inputs": 3})).status_code == 422


async def test_classify_matches_transformers(text_client: httpx.AsyncClient, artifacts: Artifacts) -> None:
    texts = ["the team won the match", "rates went up", "bake the bread"]
    r = await text_client.post("/api/v1/models/topics/classify", json={"inputs": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    tokenizer = AutoTokenizer.from_pretrained(artifacts.classifier_dir, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(artifacts.classifier_dir,
                                                               local_files_only=True)
    with torch.inference_mode():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    expected = torch.softmax(logits, -1).numpy()
    np.testing.assert_allclose(body["probabilities"], expected, rtol=0, atol=1e-5)
    assert body["predictions"] == [model.config.id2label[int(i)] for i in expected.argmax(1)]
    assert set(body["predictions"]) <= {"sports", "finance", "cooking"}
    r = await text_client.post("/api/v1/models/minilm/classify", json={"inputs": "x"})
    assert r.status_code == 400


async def test_register_uploaded_archive(text_client: httpx.AsyncClient, artifacts: Artifacts) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(artifacts.classifier_dir, arcname="my-model")  # one top-level directory, as `tar` makes
    r = await text_client.post("/api/v1/models", data={"name": "topics2", "flavor": "transformers"},
                               files={"file": ("my-model.tar.gz", buf.getvalue(), "application/gzip")})
    assert r.status_code == 201, r.text
    assert [s["name"] for s in r.json()["signature"]["outputs"]] == ["predictions", "probabilities"]
    r = await text_client.post("/api/v1/models/topics2/classify", json={"inputs": "bake the bread"})
    assert r.status_code == 200
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tf:
        info = tarfile.TarInfo("../../escape.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    r = await text_client.post("/api/v1/models", data={"name": "evil", "flavor": "transformers"},
                               files={"file": ("evil.tar.gz", evil.getvalue(), "application/gzip")})
    assert r.status_code == 400 and "escapes" in r.json()["detail"]
