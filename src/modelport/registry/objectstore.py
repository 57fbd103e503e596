"""Artifacts in an object store (S3 and S3-compatible, GCS, Azure) through fsspec.

Credentials and endpoints come the standard way for each backend (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``GOOGLE_APPLICATION_CREDENTIALS``, ...), plus fsspec storage options
from settings. Uploads go from the registration's temporary file to the store in chunks (never
the whole artifact in memory); loads read through a per-node :class:`ArtifactCache`, and the
manager checks the sha256 of the local copy at every load as for the local store.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from pathlib import Path
from typing import Any

import fsspec

from modelport.errors import ArtifactIntegrityError, InvalidInput, Unavailable
from modelport.registry.artifact_cache import ArtifactCache
from modelport.registry.artifact_keys import CHUNK, validate_key

UPLOAD_BLOCK = 8 * 1024 * 1024  # S3 multipart parts must be at least 5 MiB

EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs",
          "az": "azure", "abfs": "azure", "abfss": "azure"}


def open_object_store(url: str, storage_options: dict[str, Any], cache_dir: Path,
                      cache_bytes: int) -> ObjectArtifactStore:
    """Connect to the store at ``url``; a missing backend package names the extra to install."""
    scheme = url.split("://", 1)[0].lower()
    options = {"skip_instance_cache": True} | storage_options
    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        extra = EXTRAS.get(scheme, scheme)
        raise InvalidInput(
            f"artifact store {scheme}:// needs its fsspec backend: pip install 'modelport[{extra}]'"
        ) from exc
    except ValueError as exc:
        raise InvalidInput(f"unsupported artifact store URL scheme {scheme!r}: {exc}") from exc
    # one cache folder per store, so two stores never serve each other's files
    tag = hashlib.sha256(url.encode()).hexdigest()[:16]
    return ObjectArtifactStore(fs, root.rstrip("/"), ArtifactCache(cache_dir / tag, cache_bytes))


class ObjectArtifactStore:
    """The :class:`~modelport.registry.store.ArtifactStore` contract over an fsspec filesystem."""

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, cache: ArtifactCache) -> None:
        self.fs = fs
        self.root = root
        self.cache = cache

    def _remote(self, key: str) -> str:
        return f"{self.root}/{validate_key(key)}"

    def put_file(self, key: str, source: Path) -> None:
        # a streamed write (multipart on S3, resumable on GCS) holds one block in memory, where
        # a backend's put_file may read a whole file of up to 100 MiB at once
        try:
            with source.open("rb") as src, self.fs.open(self._remote(key), "wb",
                                                        block_size=UPLOAD_BLOCK) as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        except OSError as exc:
            raise Unavailable(f"artifact store refused the upload: {type(exc).__name__}") from exc
        self.cache.add(key, lambda tmp: shutil.copyfile(source, tmp))  # this node needs no download

    def local_path(self, key: str) -> Path:
        """A local copy of ``key``: the cached one, or one downloaded now (blocking: call in a thread)."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        remote = self._remote(key)
        try:
            return self.cache.add(key, lambda tmp: self.fs.get_file(remote, str(tmp)))
        except FileNotFoundError as exc:
            raise ArtifactIntegrityError(f"artifact {key!r} is missing from the store") from exc
        except OSError as exc:
            raise Unavailable(f"artifact store unreachable: {type(exc).__name__}") from exc

    def delete(self, key: str) -> None:
        self.cache.drop(key)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._remote(key))

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._remote(key)))

    def evict(self, key: str) -> bool:
        return self.cache.drop(key)
