"""API key format and digests, password hashing, the dummy check for unknown users, the secret key."""

from __future__ import annotations

import hashlib
import stat
from typing import Any
from unittest import mock

import pytest

from modelport.errors import Unauthorized
from modelport.security import apikeys, passwords
from modelport.security.secret import InsecureConfiguration, load_secret


def test_key_format_and_digest() -> None:
    new = apikeys.generate()
    assert new.plaintext.startswith(f"mp_{new.key_id}_") and len(new.key_id) == 16
    assert new.digest == hashlib.sha256(new.plaintext.encode()).hexdigest()
    assert new.plaintext not in new.digest
    parsed = apikeys.parse(new.plaintext)
    assert parsed is not None and parsed.key_id == new.key_id and apikeys.matches(new.digest, parsed.digest)
    assert apikeys.generate().plaintext != new.plaintext
    for bad in ["mp_", "mp_xyz_abc", new.plaintext + "x", new.plaintext[:-1], "Bearer " + new.plaintext]:
        assert apikeys.parse(bad) is None


def test_digest_comparison_is_constant_time() -> None:
    with mock.patch("modelport.security.apikeys.hmac.compare_digest", return_value=True) as spy:
        assert apikeys.matches("a" * 64, "b" * 64)
    spy.assert_called_once()


def test_password_hash_is_argon2() -> None:
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password("correct horse battery", hashed)
    assert not passwords.verify_password("wrong", hashed)
    assert not passwords.verify_password("x", "not-a-hash")


async def test_unknown_user_still_verifies_a_hash(services: Any) -> None:
    """Timing: a login for a missing user runs argon2 on the dummy hash (users.authenticate)."""
    await services.auth.users.create("alice", "correct horse battery")
    with mock.patch("modelport.security.passwords.verify_password", wraps=passwords.verify_password) as spy:
        with pytest.raises(Unauthorized):
            await services.auth.users.authenticate("nobody", "whatever-password")
        assert spy.call_count == 1 and spy.call_args.args[1] == passwords.dummy_hash()
        with pytest.raises(Unauthorized):
            await services.auth.users.authenticate("alice", "wrong-password")
        assert spy.call_count == 2
    user = await services.auth.users.authenticate("alice", "correct horse battery")
    assert user.username == "alice"


def test_secret_generated_once_with_mode_0600(make_settings: Any) -> None:
    settings = make_settings()
    first = load_secret(settings)
    path = settings.home / "secret.key"
    assert len(first) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(settings) == first


def test_short_secret_refused(make_settings: Any) -> None:
    with pytest.raises(InsecureConfiguration, match="32 bytes"):
        load_secret(make_settings(secret_key="too-short"))
    assert load_secret(make_settings(secret_key="k" * 32)) == b"k" * 32


def test_missing_secret_refused_outside_the_embedded_default(make_settings: Any) -> None:
    settings = make_settings(database_url="postgresql+asyncpg://u@127.0.0.1/db", secret_key=None)
    with pytest.raises(InsecureConfiguration, match="MODELPORT_SECRET_KEY"):
        load_secret(settings)
