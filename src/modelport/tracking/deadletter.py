"""Rows the database refused on their own merits, set aside one by one with the reason.

A row PostgreSQL or SQLite refuses (a data or constraint error, not an outage) used to send
its whole batch to the spill file, and the replay then failed on that file forever. The writer
now isolates such a row (bisecting the batch) and appends it here,
``$MODELPORT_HOME/deadletter/predictions-<pid>.jsonl``: one JSON object a line, the row under
``row`` and the database's reason under ``reason``. A spill file that cannot be read at all is
moved here whole. Nothing here is replayed automatically; an operator reads it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import orjson

from modelport.tracking.records import COLUMNS, Row

_OPTIONS = orjson.OPT_UTC_Z


class DeadLetters:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.directory / f"predictions-{os.getpid()}.jsonl"

    def append(self, row: Row, reason: str) -> None:
        """Append one refused row with the reason (fsynced); raises OSError to the caller."""
        fields = dict(zip(COLUMNS, row, strict=True))
        try:
            line = orjson.dumps({"reason": reason[:500], "row": fields}, option=_OPTIONS, default=repr)
        except orjson.JSONEncodeError:  # a string that is not valid UTF-8: keep its escapes
            fields = {k: v.encode("utf-8", "backslashreplace").decode() if isinstance(v, str) else v
                      for k, v in fields.items()}
            line = orjson.dumps({"reason": reason[:500], "row": fields}, option=_OPTIONS, default=repr)
        line += b"\n"
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def quarantine(self, spill_file: Path, reason: str) -> Path:
        """Move an unreadable spill file here (renamed, so a replay never picks it up again)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{spill_file.name}.unreadable"
        os.replace(spill_file, target)
        (self.directory / f"{target.name}.reason").write_text(reason[:500] + "\n")
        return target

    def rows(self) -> list[dict[str, object]]:
        """Every dead-lettered row of this directory with its reason (tests and operators)."""
        found: list[dict[str, object]] = []
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("predictions-*.jsonl")):
                found += [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        return found
