"""User passwords: argon2id through pwdlib.

Passwords are low-entropy, so they get a slow, memory-hard hash. (API keys are random 256-bit
secrets and use a fast digest instead; see :mod:`modelport.security.apikeys`.)
"""

from __future__ import annotations

import functools

from pwdlib import PasswordHash


@functools.cache
def hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return str(hasher().hash(password))


def verify_password(password: str, hashed: str) -> bool:
    try:
        return bool(hasher().verify(password, hashed))
    except Exception:  # a malformed stored hash is a failed login, never a 500
        return False


@functools.cache
def dummy_hash() -> str:
    """A real argon2 hash of a random string, verified when a username does not exist, so an
    unknown user costs as much time as a wrong password (no username enumeration by timing)."""
    import secrets

    return hash_password(secrets.token_urlsafe(32))


def verify_dummy(password: str) -> None:
    verify_password(password, dummy_hash())
