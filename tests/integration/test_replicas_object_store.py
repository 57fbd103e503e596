"""Two replicas on PostgreSQL + Redis + S3 (loopback) and no shared directory: a model registered
through replica A is served by replica B, which fetches the artifact from the object store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

from modelport.app import create_app
from tests.conftest import TEST_SECRET, mint_admin_headers
from tests.fixtures.s3_server import S3Server, s3_server

pytestmark = [pytest.mark.services]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    with s3_server() as server:
        for name, value in server.environment.items():
            monkeypatch.setenv(name, value)
        yield server


async def test_model_registered_on_one_replica_is_served_by_the_other(
    make_settings: Any, postgres_url: str, redis_url: str, s3: S3Server, tmp_path: Path,
) -> None:
    shared = {"database_url": postgres_url, "redis_url": redis_url,
              "artifact_url": f"s3://{s3.bucket}/models", "jobs_engine": "celery",
              "broker_url": redis_url, "job_queue_suffix": "-unused", "cache_enabled": False}
    x, y = load_breast_cancer(return_X_y=True)
    artifact = tmp_path / "upload" / "bc.skops"
    artifact.parent.mkdir()
    sio.dump(RandomForestClassifier(n_estimators=20, random_state=0).fit(x, y), artifact)

    app_a = create_app(make_settings(home=tmp_path / "a", **shared))
    app_b = create_app(make_settings(home=tmp_path / "b", **shared))
    async with app_a.router.lifespan_context(app_a), app_b.router.lifespan_context(app_b):
        headers = await mint_admin_headers(app_a.state.services)
        a = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_a), base_url="http://a", headers=headers)
        b = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_b), base_url="http://b", headers=headers)
        async with a, b:
            with artifact.open("rb") as fh:
                r = await a.post("/api/v1/models", files={"file": ("bc.skops", fh)},
                                 data={"name": "bc", "flavor": "sklearn", "alias": "production"})
            assert r.status_code == 201, r.text
            body = {"features": x[:5].tolist()}
            from_a = await a.post("/api/v1/models/bc/predict", json=body)
            from_b = await b.post("/api/v1/models/bc/predict", json=body)
            assert from_a.status_code == from_b.status_code == 200, from_b.text
            for key in ("version", "predictions", "probabilities"):
                assert from_a.json()[key] == from_b.json()[key]
            assert from_b.json()["predictions"] == y[:5].tolist()
            # B read the artifact from S3 into its own cache: neither home has a store directory
            assert (tmp_path / "b" / "artifact-cache").is_dir()
            assert not (tmp_path / "a" / "artifacts" / "bc").exists()
            assert not (tmp_path / "b" / "artifacts" / "bc").exists()
            keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=s3.bucket)["Contents"]]  # type: ignore[attr-defined]
            assert keys == ["models/bc/1/model.skops"]


ROOT = Path(__file__).resolve().parents[2]
SERVE = ("import sys; sys.path.insert(0, {src!r}); from modelport.cli import main;"
         "sys.argv = ['modelport', 'serve']; main()").format(src=str(ROOT / "src"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_process(home: Path, env: dict[str, str]) -> Iterator[str]:
    """``modelport serve`` in a process of its own; yields its URL once it is ready."""
    port = free_port()
    full = {**os.environ, **env, "MODELPORT_HOME": str(home), "MODELPORT_PORT": str(port)}
    home.mkdir(parents=True)
    with (home / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVE], env=full, stdout=log,  # noqa: S603
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (home / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "replica B did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.slow
async def test_a_replica_in_another_process_serves_what_this_one_registered(
    make_settings: Any, postgres_url: str, redis_url: str, s3: S3Server, tmp_path: Path,
) -> None:
    shared = {"database_url": postgres_url, "redis_url": redis_url,
              "artifact_url": f"s3://{s3.bucket}/models", "cache_enabled": False}
    x, y = load_breast_cancer(return_X_y=True)
    artifact = tmp_path / "upload" / "bc.skops"
    artifact.parent.mkdir()
    sio.dump(RandomForestClassifier(n_estimators=20, random_state=0).fit(x, y), artifact)
    app_a = create_app(make_settings(home=tmp_path / "a", **shared))
    async with app_a.router.lifespan_context(app_a):
        headers = await mint_admin_headers(app_a.state.services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_a), base_url="http://a",
                                     headers=headers) as a:
            with artifact.open("rb") as fh:
                r = await a.post("/api/v1/models", files={"file": ("bc.skops", fh)},
                                 data={"name": "bc", "flavor": "sklearn", "alias": "production"})
            assert r.status_code == 201, r.text
            body = {"features": x[:5].tolist()}
            from_a = (await a.post("/api/v1/models/bc/predict", json=body)).json()
        env = {"MODELPORT_DATABASE_URL": postgres_url, "MODELPORT_REDIS_URL": redis_url,
               "MODELPORT_ARTIFACT_URL": shared["artifact_url"], "MODELPORT_SECRET_KEY": TEST_SECRET,
               "MODELPORT_DEMO_MODELS": "false", "MODELPORT_GRPC_ENABLED": "false",
               "MODELPORT_CACHE_ENABLED": "false", "MODELPORT_LOG_FORMAT": "json",
               "MODELPORT_DRAIN_S": "0"}  # stopped with SIGTERM: no 5 s drain window to wait out
        with serve_process(tmp_path / "b", env) as url_b:
            async with httpx.AsyncClient(base_url=url_b, headers=headers, timeout=60) as b:
                r = await b.post("/api/v1/models/bc/predict", json=body)
        assert r.status_code == 200, r.text
        for key in ("version", "predictions", "probabilities"):
            assert r.json()[key] == from_a[key]
        assert list((tmp_path / "b" / "artifact-cache").rglob("model.skops"))  # fetched from S3
