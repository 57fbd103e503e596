"""The per-node artifact cache: atomic entries, least-recently-used eviction under a size bound."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from modelport.errors import InvalidInput
from modelport.registry.artifact_cache import ArtifactCache


def _fill(data: bytes):  # type: ignore[no-untyped-def]
    return lambda tmp: tmp.write_bytes(data)


def test_entries_are_published_whole_and_found_again(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "c", max_bytes=1000)
    assert cache.get("m/1/model.onnx") is None
    path = cache.add("m/1/model.onnx", _fill(b"abc"))
    assert path.read_bytes() == b"abc" and cache.get("m/1/model.onnx") == path
    assert [p.name for p in path.parent.iterdir()] == ["model.onnx"]  # no temporary left behind
    assert cache.drop("m/1/model.onnx") and not cache.drop("m/1/model.onnx")
    assert cache.get("m/1/model.onnx") is None


def test_a_failed_fill_leaves_nothing(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "c", max_bytes=1000)

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("connection reset")

    with pytest.raises(OSError, match="reset"):
        cache.add("m/1/model.onnx", broken)
    assert cache.get("m/1/model.onnx") is None and cache.size() == 0


def test_least_recently_used_entries_go_first_past_the_bound(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "c", max_bytes=250)
    for i in range(2):
        cache.add(f"m/{i}/model.onnx", _fill(b"x" * 100))
        past = time.time() - 100 + i
        os.utime(cache.path(f"m/{i}/model.onnx"), (past, past))
    assert cache.get("m/0/model.onnx") is not None  # a hit makes 0 the most recently used
    cache.add("m/2/model.onnx", _fill(b"x" * 100))  # 300 bytes > 250: the oldest (1) goes
    assert cache.get("m/1/model.onnx") is None
    assert cache.get("m/0/model.onnx") is not None and cache.get("m/2/model.onnx") is not None
    assert cache.size() == 200


def test_an_entry_larger_than_the_bound_stays_until_the_next(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "c", max_bytes=50)
    big = cache.add("m/1/model.onnx", _fill(b"x" * 100))
    assert big.exists()  # the caller is about to load it
    cache.add("m/2/model.onnx", _fill(b"y" * 10))
    assert not big.exists() and cache.size() == 10


def test_keys_cannot_leave_the_cache(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "c", max_bytes=50)
    for key in ("../escape", "m/../../x", "/abs/path", "m//x"):
        with pytest.raises(InvalidInput):
            cache.add(key, _fill(b"x"))
