"""Artifact stores: where model files live, addressed by keys like ``iris/3/model.skops``.

The local store is the embedded default; any other fsspec URL (``s3://``, ``gs://``, ``az://``)
gets :class:`~modelport.registry.objectstore.ObjectArtifactStore`, read through a bounded local
cache. Keys are validated so that no name can escape the store's root, whatever a client sends.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from modelport.errors import InvalidInput, PayloadTooLarge
from modelport.registry.artifact_keys import CHUNK, validate_key


def copy_hashing(src: BinaryIO, dst: BinaryIO, limit: int | None = None) -> tuple[str, int]:
    """Copy a stream, returning its sha256 and size; refuses to copy more than ``limit``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"artifact exceeds the upload limit of {limit} bytes")
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest(), size


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: Path) -> tuple[str, int]:
    return sha256_file(path), path.stat().st_size


class ArtifactStore(Protocol):
    def put_file(self, key: str, source: Path) -> None: ...

    def local_path(self, key: str) -> Path: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def evict(self, key: str) -> bool:
        """Drop a local copy of ``key`` (a cache), so the next ``local_path`` fetches it again;
        False when there is nothing to drop (the local store holds the original)."""
        ...


class LocalArtifactStore:
    """Artifacts as files under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidInput(f"invalid artifact key {key!r}")
        return path

    def put_file(self, key: str, source: Path) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def evict(self, key: str) -> bool:
        return False  # the file is the original: nothing to fetch again


DEFAULT_CACHE_BYTES = 10 * 1024**3


def make_store(url: str | None, default_root: Path, *, storage_options: dict[str, Any] | None = None,
               cache_dir: Path | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES) -> ArtifactStore:
    """A local directory for ``None``, a path or ``file://``; an object store for other URLs."""
    if url is None or url.startswith("file://") or "://" not in url:
        root = Path(url.removeprefix("file://")) if url else default_root
        root.mkdir(parents=True, exist_ok=True)
        return LocalArtifactStore(root)
    from modelport.registry.objectstore import open_object_store

    return open_object_store(url, storage_options or {}, cache_dir or default_root.parent / "artifact-cache",
                             cache_bytes)
