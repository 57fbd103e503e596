"""A 0.5 s deadline through every edge: the answer comes at the deadline (at most 15 % after),
in the edge's format, and the model's queue never runs the abandoned request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from modelport.oip.generated import grpc_service_pb2 as pb
from modelport.oip.generated import grpc_service_pb2_grpc as pb_grpc
from tests.conftest import mint_admin_headers, serve_in_thread, write_fake_artifact

pytestmark = pytest.mark.usefixtures("frozen_heap")  # a collector pause is no deadline's doing
DEADLINE = 0.5
LATE = DEADLINE * 1.15
ROW = {"features": [1.0, 2.0, 3.0]}


async def register(app: FastAPI, tmp: Path) -> None:
    models = app.state.services.models
    await models.register_file("slow", "test-slow", write_fake_artifact(tmp, "slow.json", delay_s=1.5),
                               aliases=["production"])
    await models.register_file("text", "test-slow-text", write_fake_artifact(tmp, "text.json"),
                               aliases=["production"])
    await models.register_file("talk", "test-slow-text", write_fake_artifact(tmp, "talk.json", chat=True),
                               aliases=["production"])


@pytest.fixture
async def app(make_settings: Any, fake_flavors: None, tmp_path: Path) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings())
    async with application.router.lifespan_context(application):
        await register(application, tmp_path)
        yield application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    headers = await mint_admin_headers(app.state.services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=headers, timeout=30) as c:
        yield c


async def loaded(app: FastAPI, name: str) -> Any:
    services = app.state.services
    return await services.manager.get(await services.registry.resolve(name))


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


TIMEOUT = {"X-Request-Timeout": str(DEADLINE)}
V2_INPUT = {"name": "input", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}
#: edge -> (model, method, path, json body, how the 504 reads)
BATCHED: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "api/v1 predict": ("slow", "/api/v1/models/slow/predict", ROW, "problem"),
    "v2 infer": ("slow", "/v2/models/slow/infer", {"inputs": [V2_INPUT]}, "oip"),
    "embed": ("text", "/api/v1/models/text/embed", {"inputs": ["a"]}, "problem"),
    "v1 embeddings": ("text", "/v1/embeddings", {"model": "text", "input": ["a"]}, "openai"),
}


def assert_deadline_answer(r: httpx.Response, elapsed: float, fmt: str) -> None:
    assert r.status_code == 504, r.text
    assert DEADLINE <= elapsed <= LATE, f"answered after {elapsed:.3f} s"
    body = r.json()
    if fmt == "problem":
        assert body["code"] == "deadline_exceeded"
    elif fmt == "oip":
        assert set(body) == {"error"}
    else:
        assert body["error"]["code"] == "deadline_exceeded"


@pytest.mark.parametrize("edge", list(BATCHED))
async def test_queued_request_answers_at_its_deadline_and_never_runs(
        app: FastAPI, http: httpx.AsyncClient, edge: str) -> None:
    model, path, body, fmt = BATCHED[edge]
    slot = await loaded(app, model)
    busy = asyncio.ensure_future(http.post(path, json=body))  # holds the model for 1.5 s
    await until(lambda: slot.batcher.busy == 1)
    r, elapsed = await timed(http.post(path, json=body, headers=TIMEOUT))
    assert_deadline_answer(r, elapsed, fmt)
    assert (await busy).status_code == 200
    await asyncio.sleep(0.05)
    assert slot.runtime.calls == [1]  # the abandoned request never reached the model
    assert slot.batcher.expired + slot.batcher.cancelled == 1  # taken off the queue


async def test_running_call_is_abandoned_at_the_deadline(app: FastAPI, http: httpx.AsyncClient) -> None:
    """Nothing queued: the model call itself runs past the deadline; the answer does not wait."""
    r, elapsed = await timed(http.post("/api/v1/models/slow/predict", json=ROW, headers=TIMEOUT))
    assert_deadline_answer(r, elapsed, "problem")


async def test_server_default_applies_without_a_header(make_settings: Any, fake_flavors: None,
                                                        tmp_path: Path) -> None:
    application = create_app(make_settings(request_timeout=DEADLINE))
    async with application.router.lifespan_context(application):
        await register(application, tmp_path)
        headers = await mint_admin_headers(application.state.services)
        # loaded first: a first load in this test process can import C extensions whose
        # initialisation holds the GIL for a second or more, which no deadline can interrupt
        await loaded(application, "text")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t",
                                     headers=headers) as c:
            r, elapsed = await timed(c.post("/api/v1/models/text/embed", json={"inputs": "a"}))
    assert_deadline_answer(r, elapsed, "problem")


CHAT = {"model": "talk", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_answers_at_the_deadline(app: FastAPI, http: httpx.AsyncClient, stream: bool) -> None:
    """The first token takes 1 s: with a 0.5 s deadline the client gets 504, and the model stops."""
    r, elapsed = await timed(http.post("/v1/chat/completions", json={**CHAT, "stream": stream},
                                       headers=TIMEOUT))
    assert_deadline_answer(r, elapsed, "openai")
    runtime = (await loaded(app, "talk")).runtime
    await asyncio.sleep(1.2)  # the token being made when the deadline passed is the last
    assert runtime.tokens <= 1


async def test_a_started_stream_ends_at_the_deadline(make_settings: Any, fake_flavors: None,
                                                      tmp_path: Path) -> None:
    application = create_app(make_settings())
    async with application.router.lifespan_context(application):
        await application.state.services.models.register_file(
            "chat", "test-slow-text", write_fake_artifact(tmp_path, "chat.json", token_s=0.05, chat=True))
        headers = await mint_admin_headers(application.state.services)
        runtime = (await loaded(application, "chat")).runtime  # loaded: the deadline is the stream's
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t",
                                     headers={**headers, **TIMEOUT}) as c:
            # the key and registry lookups are cached first: on a loaded host they can take a good
            # part of the 0.5 s, and this test is about a stream that has already begun
            (await c.get("/v1/models/chat")).raise_for_status()
            started = time.monotonic()
            r = await c.post("/v1/chat/completions", json={**CHAT, "model": "chat", "stream": True})
            elapsed = time.monotonic() - started
        assert r.status_code == 200
        assert elapsed <= LATE
        assert 2 <= r.text.count("tok") <= 11 and "[DONE]" not in r.text  # ~0.05 s a token, cut at 0.5 s
        await asyncio.sleep(0.3)
        assert runtime.tokens <= 11


async def test_client_hang_up_takes_queued_work_off_the_queue(app: FastAPI, http: httpx.AsyncClient) -> None:
    """Through /v2 (the deadline middleware watches every inference route, not just /api/v1)."""
    slot = await loaded(app, "slow")
    body = b'{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]}'
    busy = asyncio.ensure_future(http.post("/v2/models/slow/infer", content=body))
    await until(lambda: slot.batcher.busy == 1)
    gone = asyncio.Event()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await gone.wait()
        return {"type": "http.disconnect"}

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    auth = http.headers["authorization"].encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v2/models/slow/infer", "raw_path": b"/v2/models/slow/infer",
             "query_string": b"", "server": ("t", 80), "client": ("c", 1),
             "headers": [(b"host", b"t"), (b"content-type", b"application/json"), (b"authorization", auth)]}
    call = asyncio.ensure_future(app(scope, receive, send))
    await until(lambda: len(slot.batcher._queue) == 1)
    gone.set()
    await asyncio.wait_for(call, 1.0)  # answered long before the model is free
    assert sent[0]["status"] == 499
    assert (await busy).status_code == 200
    assert slot.runtime.calls == [1] and slot.batcher.cancelled == 1


def test_grpc_deadlines(make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    """The client's own gRPC deadline, and the server default when the client sets none."""
    application = create_app(make_settings(grpc_enabled=True, grpc_port=0, request_timeout=DEADLINE))
    with serve_in_thread(application) as server:
        def run(coro: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, server.loop).result(30)

        run(register(application, tmp_path))
        metadata = [(k.lower(), v) for k, v in run(mint_admin_headers(application.state.services)).items()]
        slot = run(loaded(application, "slow"))
        tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP64", shape=[1, 3])
        tensor.contents.fp64_contents.extend([1.0, 2.0, 3.0])
        request = pb.ModelInferRequest(model_name="slow", inputs=[tensor])
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            busy = stub.ModelInfer.future(request, metadata=metadata, timeout=10)
            deadline = time.monotonic() + 5
            while slot.batcher.busy != 1:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            for timeout in (DEADLINE, None):  # the client's deadline, then the server's default
                started = time.monotonic()
                with pytest.raises(grpc.RpcError) as info:
                    stub.ModelInfer(request, metadata=metadata, timeout=timeout)
                elapsed = time.monotonic() - started
                assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                assert DEADLINE * 0.98 <= elapsed <= LATE, f"answered after {elapsed:.3f} s"
            assert np.allclose(busy.result().outputs[0].contents.fp64_contents, [6.0])
        time.sleep(0.05)
        assert slot.runtime.calls == [1]
