"""A bounded local copy of remote artifacts: each node downloads a version once, not per load.

Entries are plain files named by their artifact key, written to a temporary name and renamed
into place, so concurrent loaders (threads or processes on one node) never see half a file.
When the total size passes ``max_bytes`` the least recently used entries go first (a file's
mtime is touched on every hit); the entry just written always stays, even if it alone is larger.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from modelport.registry.artifact_keys import validate_key

TMP_MARK = ".part-"


class ArtifactCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root.resolve()
        self.max_bytes = max_bytes

    def path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def get(self, key: str) -> Path | None:
        """The cached copy of ``key``, marked as just used, or None."""
        path = self.path(key)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def add(self, key: str, fill: Callable[[Path], object]) -> Path:
        """Write ``key`` through ``fill(temporary path)``, publish it atomically, then trim."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}{TMP_MARK}{uuid.uuid4().hex}")
        try:
            fill(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.trim(keep=path)
        return path

    def drop(self, key: str) -> bool:
        path = self.path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def size(self) -> int:
        return sum(size for _, _, size in self._entries())

    def trim(self, keep: Path | None = None) -> None:
        """Remove least recently used entries until the total fits ``max_bytes``."""
        entries = sorted(self._entries())
        total = sum(size for _, _, size in entries)
        for _mtime, path, size in entries:
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= size

    def _entries(self) -> list[tuple[float, Path, int]]:
        found: list[tuple[float, Path, int]] = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if TMP_MARK in name:
                    continue
                path = Path(dirpath) / name
                with contextlib.suppress(FileNotFoundError):
                    st = path.stat()
                    found.append((st.st_mtime, path, st.st_size))
        return found
