"""/v1 lists only what it serves; a request of the wrong kind says what the model is and where to go."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from modelport.openai.kinds import kind_of, wrong_kind
from modelport.registry.manifest import ModelVersionInfo, Signature, TensorSpec


def version(inputs: list[TensorSpec], outputs: list[TensorSpec], flavor: str = "x") -> ModelVersionInfo:
    return ModelVersionInfo(name="m", version=1, flavor=flavor, artifact_key="k", sha256="0", size_bytes=1,
                            signature=Signature(inputs=inputs, outputs=outputs), created_at=datetime.now(UTC))


def test_kinds_from_signatures() -> None:
    text = [TensorSpec(name="text", dtype="str", shape=[-1])]
    chat = version([TensorSpec(name="messages", dtype="str", shape=[-1])],
                   [TensorSpec(name="text", dtype="str", shape=[-1])])
    embed = version(text, [TensorSpec(name="embeddings", dtype="float32", shape=[-1, 8])])
    classify = version(text, [TensorSpec(name="predictions", dtype="str", shape=[-1])])
    ner = version(text, [TensorSpec(name="entities", dtype="str", shape=[-1])])
    tabular = version([TensorSpec(name="input", dtype="float64", shape=[-1, 4])],
                      [TensorSpec(name="predictions", dtype="int64", shape=[-1])])
    assert [kind_of(v) for v in (chat, embed, classify, ner, tabular)] == [
        "chat", "embeddings", "text-classification", "ner", "tabular"]
    assert wrong_kind(tabular, "chat") == ("model 'm' is a tabular model, not a chat model; "
                                           "send it to POST /api/v1/models/m/predict")


async def test_v1_models_lists_no_tabular_model_and_explains(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/models/iris")).status_code == 200
    listed = (await client.get("/v1/models")).json()
    assert listed == {"object": "list", "data": []}  # iris, digits...: not servable by /v1
    r = await client.post("/v1/chat/completions", json={"model": "iris", "messages": [{"role": "user",
                                                                                        "content": "hi"}]})
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert message == ("model 'iris' is a tabular model, not a chat model; "
                       "send it to POST /api/v1/models/iris/predict")
    r = await client.post("/v1/embeddings", json={"model": "iris", "input": "hi"})
    assert r.status_code == 400 and "/api/v1/models/iris/predict" in r.json()["error"]["message"]
