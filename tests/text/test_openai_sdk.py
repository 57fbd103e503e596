"""The official ``openai`` SDK against a live modelport: embeddings, chat (plain and streamed), errors.

Models are registered the way a user would, with ``modelport models register`` (the chat model
as a directory, MiniLM as a zip), then served by uvicorn on a free loopback port.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from typer.testing import CliRunner

from modelport import cli
from modelport.settings import Settings
from tests.text.conftest import Artifacts, LiveServer, auth_headers, requires_text

pytestmark = [pytest.mark.text, requires_text]


@pytest.fixture(scope="module")
def live(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("openai-home")
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELPORT_HOME", str(home))
        mp.setenv("MODELPORT_DEMO_MODELS", "false")
        for args in (
            [str(artifacts.chat_dir), "--name", "chat", "--flavor", "transformers", "--alias", "production"],
            [str(artifacts.minilm_zip), "--name", "minilm", "--flavor", "sentence-transformers"],
        ):
            result = runner.invoke(cli.app, ["models", "register", *args])
            assert result.exit_code == 0, result.output
    # a loaded host can take longer than the production 0.25 s to look a model up (a 503)
    settings = Settings(_env_file=None, home=home, demo_models=False, log_format="console",  # type: ignore[call-arg]
                        grpc_enabled=False, db_lookup_timeout_s=5.0)
    server = LiveServer(settings).start()
    yield server
    server.stop()


@pytest.fixture
def client(live: LiveServer) -> openai.OpenAI:
    headers = auth_headers(live.settings.home)
    key = headers.get("Authorization", "Bearer unused").removeprefix("Bearer ")
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0, timeout=60)


def cosine(a: Any, b: Any) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_models_list(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"chat", "minilm"} <= ids
    assert client.models.retrieve("minilm").owned_by == "modelport"


def test_embeddings_similar_sentences_are_closer(client: openai.OpenAI) -> None:
    sentences = ["A cat is sleeping on the sofa.", "A kitten naps on the couch.",
                 "The central bank raised interest rates again."]
    result = client.embeddings.create(model="minilm", input=sentences)  # the SDK asks for base64
    vectors = [d.embedding for d in result.data]
    assert [d.index for d in result.data] == [0, 1, 2] and len(vectors[0]) == 384
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    assert result.usage.prompt_tokens == result.usage.total_tokens > len(sentences) * 3

    floats = client.embeddings.create(model="minilm", input=sentences[0], encoding_format="float")
    np.testing.assert_allclose(floats.data[0].embedding, vectors[0], rtol=0, atol=1e-6)

    from sentence_transformers import SentenceTransformer

    from modelport.demo_text import minilm_path

    direct = SentenceTransformer(str(minilm_path()), device="cpu").encode(sentences)
    np.testing.assert_allclose(np.asarray(vectors), direct, rtol=0, atol=1e-4)


def _stream(client: openai.OpenAI, **kwargs: Any) -> tuple[str, list[Any]]:
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


@pytest.mark.parametrize("sampling", [{"temperature": 0}, {"temperature": 0.9, "top_p": 0.95, "seed": 7}])
def test_chat_stream_joins_to_the_plain_answer(client: openai.OpenAI, sampling: dict[str, Any]) -> None:
    request = {"model": "chat", "messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": "Tell me about cats."}],
               "max_tokens": 24, **sampling}
    plain = client.chat.completions.create(**request)
    text, chunks = _stream(client, stream_options={"include_usage": True}, **request)

    answer = plain.choices[0].message.content
    assert answer and text == answer
    assert plain.choices[0].message.role == "assistant"
    assert plain.choices[0].finish_reason == "length" and plain.usage is not None
    assert plain.usage.completion_tokens == 24

    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:] if c.choices)
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and finishing[0].choices[0].finish_reason == "length"
    assert chunks[-2] is finishing[0]
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage == plain.usage
    assert all(c.usage is None for c in chunks[:-1])


def test_seed_makes_sampling_reproducible(client: openai.OpenAI) -> None:
    request = {"model": "chat", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16,
               "temperature": 1.0}
    first = client.chat.completions.create(seed=1, **request).choices[0].message.content
    again = client.chat.completions.create(seed=1, **request).choices[0].message.content
    other = client.chat.completions.create(seed=2, **request).choices[0].message.content
    assert first == again
    assert first != other


def test_stop_sequence_cuts_the_answer(client: openai.OpenAI) -> None:
    request = {"model": "chat", "messages": [{"role": "user", "content": "count"}], "temperature": 1.0,
               "seed": 3}  # seeded sampling: varied text (greedy decoding of random weights repeats)
    full = client.chat.completions.create(max_completion_tokens=40, **request).choices[0].message.content
    assert full is not None and len(full) > 12
    stop = full[8:11]
    expected = full[: full.find(stop)]
    cut = client.chat.completions.create(max_completion_tokens=40, stop=[stop], **request)
    assert cut.choices[0].message.content == expected
    assert cut.choices[0].finish_reason == "stop"
    text, chunks = _stream(client, max_completion_tokens=40, stop=stop, **request)
    assert text == expected
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_errors_are_openai_error_objects(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=messages)
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]
    assert missing.value.body["type"] == "invalid_request_error"  # type: ignore[index]

    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="chat", messages=messages, temperature=5)
    assert bad.value.body["param"] == "temperature"  # type: ignore[index]

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="chat", messages=messages, n=2)
    with pytest.raises(openai.BadRequestError) as not_chat:
        client.chat.completions.create(model="minilm", messages=messages)
    assert "'minilm' is an embeddings model, not a chat model" in not_chat.value.message
    assert "/v1/embeddings" in not_chat.value.message and "stream" not in not_chat.value.message
    with pytest.raises(openai.BadRequestError) as not_embeddings:
        client.embeddings.create(model="chat", input="hi")
    assert "'chat' is a chat model, not an embeddings model" in not_embeddings.value.message
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="minilm", input=[[1, 2, 3]])
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="minilm", input="x", dimensions=10)
    with pytest.raises(openai.BadRequestError):  # the stream fails before any chunk is sent
        list(client.chat.completions.create(model="chat", messages=messages, stream=True, max_tokens=10**6))


def test_the_readme_snippet_runs(live: LiveServer) -> None:
    """The README's OpenAI SDK block, with this server's address and key and its chat model's name."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    found = re.search(r"<!-- openai-snippet.*?-->\n```python\n(.*?)```", readme, re.DOTALL)
    assert found, "README lost its OpenAI SDK snippet"
    code = found.group(1)
    key = auth_headers(live.settings.home).get("Authorization", "Bearer unused").removeprefix("Bearer ")
    for old, new in (("http://127.0.0.1:8000", live.url), ('"mp_..."', repr(key)), ('"tiny-chat"', '"chat"')):
        assert old in code
        code = code.replace(old, new)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md:openai-snippet", "exec"), {"__name__": "readme"})  # noqa: S102 (our README)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and "completion_tokens=" in lines[-1]  # text pieces, then the usage chunk


def test_wrong_api_key_is_refused(live: LiveServer) -> None:
    if not auth_headers(live.settings.home):
        pytest.skip("no security layer in this build (no admin key written)")
    bad = openai.OpenAI(base_url=f"{live.url}/v1", api_key="mp_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def _generating() -> bool:
    return any(t.name == "generate" and t.is_alive() for t in threading.enumerate())


def test_client_disconnect_stops_generation(live: LiveServer) -> None:
    headers = auth_headers(live.settings.home)
    body = {"model": "chat", "messages": [{"role": "user", "content": "go on forever"}],
            "max_tokens": 1000, "temperature": 0, "stream": True}
    metric = {"model": "chat", "version": "1", "protocol": "openai", "outcome": "cancelled"}
    registry = live.services.metrics.registry
    before = registry.get_sample_value("modelport_predictions_total", metric) or 0.0
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as http, \
            http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        assert _generating()
    # the connection is closed: generation must stop long before 1000 tokens
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        _generating() or (registry.get_sample_value("modelport_predictions_total", metric) or 0.0) == before
    ):
        time.sleep(0.05)
    assert not _generating()
    assert registry.get_sample_value("modelport_predictions_total", metric) == before + 1
