"""Append-only JSONL spill files for prediction rows the database could not take.

While the database is unreachable the writer appends encoded rows to
``$MODELPORT_HOME/spill/predictions-<pid>-<time>.jsonl`` (fsynced per batch) and replays them
once it is back. The file being written holds an exclusive ``flock``; a replayer only takes
files it can lock, so several processes sharing a home never replay a file still being written,
and files left by a crashed process are picked up by the next one. Replays insert with
``ON CONFLICT DO NOTHING`` on the request id, so a replay cut short is simply run again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from modelport.tracking.records import Row, row_from_json, row_to_json

log = logging.getLogger(__name__)
PATTERN = "predictions-*.jsonl"


class SpillStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._lock = threading.Lock()  # the writer and an overflow spill may append at once

    def append(self, rows: list[Row]) -> None:
        """Append rows durably; raises OSError (disk full, read-only) to the caller."""
        data = b"".join(row_to_json(r) for r in rows)
        with self._lock:
            self._append(data)

    def _append(self, data: bytes) -> None:
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"predictions-{os.getpid()}-{time.time_ns()}.jsonl"
            f = path.open("ab")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._file, self._path = f, path
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def seal(self) -> None:
        """Close the file being written so it can be replayed."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
                self._path = None

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob(PATTERN) if p != self._path)

    def has_pending(self) -> bool:
        """Any spill file, including the one this process is writing (replay seals it first)."""
        return self._file is not None or bool(self.pending())

    def open_for_replay(self, path: Path) -> IO[bytes] | None:
        """Open and lock a spill file; None when another process holds it (still writing it)."""
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return None
        return f

    @staticmethod
    def read_chunks(f: IO[bytes], size: int) -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for line in f:
            if not line.strip():
                continue
            try:
                chunk.append(row_from_json(line))
            except (ValueError, KeyError):
                log.error("skipping a corrupt line in spill file %s", f.name)
                continue
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
