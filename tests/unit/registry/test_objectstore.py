"""Artifacts in S3 (a real S3 API on loopback): upload, read-through cache, checksums, config."""

from __future__ import annotations

import importlib.util
import json
import os
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from modelport.app import create_app
from modelport.errors import ArtifactIntegrityError, InvalidInput
from modelport.registry.objectstore import ObjectArtifactStore
from modelport.registry.store import LocalArtifactStore, make_store
from modelport.settings import Settings
from tests.conftest import mint_admin_headers
from tests.fixtures.s3_server import S3Server, s3_server, s3_server_process


@pytest.fixture(scope="module")
def s3_module() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def s3(s3_module: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The loopback S3, found through the standard AWS environment variables."""
    for name, value in s3_module.environment.items():
        monkeypatch.setenv(name, value)
    return s3_module


def test_round_trip_through_the_store_and_a_second_nodes_cache(s3: S3Server, tmp_path: Path) -> None:
    url = f"s3://{s3.bucket}/artifacts"
    node_a = make_store(url, tmp_path / "unused", cache_dir=tmp_path / "a")
    node_b = make_store(url, tmp_path / "unused", cache_dir=tmp_path / "b")
    assert isinstance(node_a, ObjectArtifactStore)
    source = tmp_path / "model.bin"
    source.write_bytes(np.random.default_rng(0).bytes(9 * 1024 * 1024))  # two multipart blocks
    node_a.put_file("m/1/model.bin", source)
    listed = s3.client().list_objects_v2(Bucket=s3.bucket)  # type: ignore[attr-defined]
    assert [o["Key"] for o in listed["Contents"]] == ["artifacts/m/1/model.bin"]
    assert node_b.exists("m/1/model.bin") and not node_b.exists("m/2/model.bin")
    copy = node_b.local_path("m/1/model.bin")
    assert copy.is_relative_to(tmp_path / "b") and copy.read_bytes() == source.read_bytes()
    node_a.delete("m/1/model.bin")
    assert not node_b.exists("m/1/model.bin")
    assert node_b.evict("m/1/model.bin")  # B's copy outlives the object until dropped
    with pytest.raises(ArtifactIntegrityError, match="missing"):
        node_b.local_path("m/1/model.bin")


def test_storage_options_from_settings_reach_the_backend(
    s3_module: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = s3_module.environment
    options = {"endpoint_url": s3_module.endpoint, "key": env["AWS_ACCESS_KEY_ID"],
               "secret": env["AWS_SECRET_ACCESS_KEY"], "client_kwargs": {"region_name": "us-east-1"}}
    monkeypatch.setenv("MODELPORT_ARTIFACT_STORAGE_OPTIONS", json.dumps(options))
    monkeypatch.setenv("MODELPORT_ARTIFACT_URL", f"s3://{s3_module.bucket}/opts")
    settings = Settings(_env_file=None, home=tmp_path)  # type: ignore[call-arg]
    store = make_store(settings.artifacts.url, settings.artifacts_dir,
                       storage_options=settings.artifacts.storage_options, cache_dir=tmp_path / "c")
    source = tmp_path / "x.bin"
    source.write_bytes(b"options")
    store.put_file("x/1/x.bin", source)
    assert store.exists("x/1/x.bin")


def test_local_urls_and_bad_urls(tmp_path: Path) -> None:
    assert isinstance(make_store(None, tmp_path / "d"), LocalArtifactStore)
    assert isinstance(make_store(f"file://{tmp_path}/e", tmp_path / "d"), LocalArtifactStore)
    with pytest.raises(InvalidInput, match="unsupported artifact store URL scheme 'nosuch'"):
        make_store("nosuch://bucket/x", tmp_path / "d")
    if importlib.util.find_spec("adlfs") is None:
        with pytest.raises(InvalidInput, match=r"modelport\[azure\]"):
            make_store("az://container/x", tmp_path / "d")


def _iris(path: Path) -> Path:
    x, y = load_iris(return_X_y=True)
    sio.dump(LogisticRegression(max_iter=500).fit(x, y), path)
    return path


async def test_served_from_s3_with_checksums_at_every_load(
    s3: S3Server, make_settings: Any, tmp_path: Path,
) -> None:
    settings = make_settings(artifact_url=f"s3://{s3.bucket}/served", cache_enabled=False)
    app = create_app(settings)
    artifact = _iris(tmp_path / "iris.skops")
    async with app.router.lifespan_context(app):
        services = app.state.services
        headers = await mint_admin_headers(services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=headers) as client:
            with artifact.open("rb") as fh:
                r = await client.post("/api/v1/models", data={"name": "iris", "flavor": "sklearn",
                                                              "alias": "production"},
                                      files={"file": ("iris.skops", fh)})
            assert r.status_code == 201, r.text
            assert not (settings.home / "artifacts" / "iris").exists()  # nothing in a local store
            row = {"features": [5.1, 3.5, 1.4, 0.2]}
            first = (await client.post("/api/v1/models/iris/predict", json=row)).json()
            answer = {k: first[k] for k in ("version", "predictions", "probabilities")}

            # a corrupt cached copy is dropped and fetched again from the store
            cached = services.store.local_path("iris/1/model.skops")
            cached.write_bytes(b"garbage")
            await services.manager.unload(("iris", 1))
            r = await client.post("/api/v1/models/iris/predict", json=row)
            assert r.status_code == 200
            assert {k: r.json()[k] for k in answer} == answer
            assert cached.read_bytes() == artifact.read_bytes()

            # a tampered original is refused
            s3.client().put_object(Bucket=s3.bucket, Key="served/iris/1/model.skops",  # type: ignore[attr-defined]
                                   Body=b"tampered")
            services.store.evict("iris/1/model.skops")
            await services.manager.unload(("iris", 1))
            r = await client.post("/api/v1/models/iris/predict", json=row)
            assert r.status_code == 500 and r.json()["code"] == "artifact_integrity"


@contextmanager
def _removed(path: Path) -> Iterator[None]:
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # pytest keeps tmp_path of recent runs: free the disk now


def test_uploads_stream_in_bounded_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64 MiB artifact goes to S3 in multipart blocks: this process never holds it whole
    (s3fs's own ``put_file`` reads a file of this size into memory in one piece)."""
    size = 64 * 1024 * 1024
    source = tmp_path / "big.bin"
    with source.open("wb") as fh:
        for _ in range(size // (4 * 1024 * 1024)):
            fh.write(os.urandom(4 * 1024 * 1024))
    with s3_server_process() as s3, _removed(source):
        for name, value in s3.environment.items():
            monkeypatch.setenv(name, value)
        store = make_store(f"s3://{s3.bucket}/big", tmp_path / "unused", cache_dir=tmp_path / "cache")
        assert not store.exists("m/1/model.bin")  # the client is built (and its API models read) here
        tracemalloc.start()
        try:
            store.put_file("m/1/model.bin", source)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        head = s3.client().head_object(Bucket=s3.bucket, Key="big/m/1/model.bin")  # type: ignore[attr-defined]
    assert head["ContentLength"] == size
    assert peak < size // 2, f"peak {peak / 2**20:.1f} MiB while uploading {size / 2**20:.0f} MiB"
