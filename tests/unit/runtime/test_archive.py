"""Model directories packed into deterministic zips and unpacked safely, once per sha256."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.registry.store import sha256_file
from modelport.runtime.archive import check_weights_safe, pack_directory, unpack


def make_model_dir(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"a": 1}')
    (root / "sub" / "weights.safetensors").write_bytes(b"\0" * 1000)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    return root


def test_pack_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    src = make_model_dir(tmp_path / "model")
    a = pack_directory(src, tmp_path / "a.zip")
    (src / "config.json").touch()  # a new mtime must not change the archive
    b = pack_directory(src, tmp_path / "b.zip")
    assert sha256_file(a) == sha256_file(b)
    assert ".git/HEAD" not in zipfile.ZipFile(a).namelist()
    out = unpack(a, tmp_path / "cache")
    assert out == tmp_path / "cache" / sha256_file(a)
    assert (out / "config.json").read_text() == '{"a": 1}'
    assert (out / "sub" / "weights.safetensors").stat().st_size == 1000
    (out / "marker").write_text("cached")
    assert (unpack(a, tmp_path / "cache") / "marker").exists()  # unpacked once, then reused


def test_unsafe_archives_are_refused(tmp_path: Path) -> None:
    for name in ("../evil.txt", "/abs.txt", "a/../../b.txt"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, "x")
        path = tmp_path / "evil.zip"
        path.write_bytes(buf.getvalue())
        with pytest.raises(InvalidInput):
            unpack(path, tmp_path / "cache")
    link = zipfile.ZipInfo("link")
    link.external_attr = 0o120777 << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(link, "/etc/passwd")
    path.write_bytes(buf.getvalue())
    with pytest.raises(InvalidInput, match="link"):
        unpack(path, tmp_path / "cache")
    path.write_bytes(b"neither zip nor tar")
    with pytest.raises(InvalidInput):
        unpack(path, tmp_path / "cache")
    assert not any(p.name.startswith(".tmp") for p in (tmp_path / "cache").iterdir())


def test_pickle_weights_need_permission(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(UnsafeArtifact):
        check_weights_safe(tmp_path, allow_pickle=False)
    check_weights_safe(tmp_path, allow_pickle=True)
