"""The prediction log's local journal: a record is on disk before its response is sent.

The write-behind buffer lives in memory, so a ``kill -9`` lost up to a flush interval of
answered predictions. Now :meth:`Journal.append` writes each encoded row with one ``os.write``
to an ``O_APPEND`` file under ``$MODELPORT_HOME/journal/`` on the request path: once it
returns, the row survives the process being killed (it is in the kernel's page cache). A
background ``fsync`` every ``fsync_interval`` seconds bounds what a machine crash can lose.

The file is a segment: each flush :meth:`rotate`\\ s to a new one and, once the rows it holds
are in the database (or the fsynced spill file), :meth:`discard`\\ s the old. Start-up replays
the segments a previous process left (:meth:`leftovers`); inserts skip request ids already
logged, so a segment replayed twice (a crash between insert and unlink) still gives one row.
A segment being written holds an exclusive ``flock``, so processes sharing a home only ever
replay segments of dead processes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path

from modelport.tracking.records import Row, row_to_json

log = logging.getLogger(__name__)
PATTERN = "predictions-*.jsonl"


class Journal:
    def __init__(self, directory: Path, fsync_interval: float = 0.1) -> None:
        self.directory = directory
        self.fsync_interval = fsync_interval
        self._fd: int | None = None
        self._path: Path | None = None
        self._dirty = False
        self._lock = threading.Lock()  # rotation against the fsync thread

    @property
    def current(self) -> Path | None:
        return self._path

    def _open(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"predictions-{os.getpid()}-{time.time_ns()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fd, self._path = fd, path
        return fd

    def append(self, row: Row) -> None:
        """One row, one ``write`` (request path); raises OSError (disk full) to the caller."""
        fd = self._fd
        if fd is None:
            fd = self._open()
        os.write(fd, row_to_json(row))
        self._dirty = True

    def rotate(self) -> Path | None:
        """Start a new segment on the next append; the old one's path (None if none was open)."""
        with self._lock:
            fd, path = self._fd, self._path
            self._fd = self._path = None
            if fd is not None:
                os.close(fd)  # closing releases its flock: discard() follows once it is stored
            return path

    @staticmethod
    def discard(path: Path | None) -> None:
        if path is not None:
            path.unlink(missing_ok=True)

    def sync(self) -> None:
        """fsync the segment being written, if anything was written since the last sync."""
        with self._lock:
            if self._fd is None or not self._dirty:
                return
            self._dirty = False
            os.fsync(self._fd)

    def leftovers(self) -> list[Path]:
        """Segments no live process holds (left by a killed one), oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob(PATTERN)):
            if path == self._path:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live process is writing it
            finally:
                os.close(fd)
            found.append(path)
        return found

