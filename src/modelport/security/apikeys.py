"""API key format, generation and digests.

A key is shown once as ``mp_<id>_<secret>``: ``id`` (16 hex chars) is public and indexes the
row; ``secret`` is 32 random bytes (base64url). Only a SHA-256 digest of the whole key is stored.

Why SHA-256 and not argon2: argon2's slowness protects low-entropy passwords from guessing.
A 256-bit random secret cannot be guessed, so a slow hash adds nothing but latency, and keys
are checked on every request (argon2 costs ~50 ms and 64 MiB each). A plain digest also keeps
keys valid across a rotation of ``MODELPORT_SECRET_KEY``. Digests are compared with
``hmac.compare_digest`` (constant time).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

PREFIX = "mp_"
_KEY_RE = re.compile(r"^mp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


class NewKey(NamedTuple):
    key_id: str
    plaintext: str
    digest: str


class ParsedKey(NamedTuple):
    key_id: str
    digest: str


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate() -> NewKey:
    key_id = secrets.token_hex(8)
    plaintext = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewKey(key_id, plaintext, digest(plaintext))


def looks_like_key(value: str) -> bool:
    return value.startswith(PREFIX)


def parse(value: str) -> ParsedKey | None:
    match = _KEY_RE.match(value)
    if match is None:
        return None
    return ParsedKey(match.group(1), digest(value))


def matches(stored_digest: str, presented_digest: str) -> bool:
    return hmac.compare_digest(stored_digest.encode(), presented_digest.encode())
