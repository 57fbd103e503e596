"""Artifact keys (``iris/3/model.skops``): validated so that no name can escape a store's root,
whatever a client sends; shared by every store and the local cache."""

from __future__ import annotations

import re

from modelport.errors import InvalidInput

_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
CHUNK = 1024 * 1024  # read and write block


def validate_key(key: str) -> str:
    parts = key.split("/")
    if not parts or any(not _KEY_SEGMENT.match(p) or ".." in p for p in parts):
        raise InvalidInput(f"invalid artifact key {key!r}")
    return key
