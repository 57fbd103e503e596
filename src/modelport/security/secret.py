"""The server secret (JWT signing key): configured, or generated once for the embedded default.

A scaled-out deployment (PostgreSQL, several replicas) must share one secret, so it must be set
with ``MODELPORT_SECRET_KEY`` (at least 32 bytes); the embedded default (SQLite) generates one
into ``$MODELPORT_HOME/secret.key`` with mode 0600 and reuses it on every start.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from modelport.settings import Settings
from modelport.storage.engine import is_sqlite

log = logging.getLogger(__name__)
MIN_SECRET_BYTES = 32
SECRET_FILE = "secret.key"  # noqa: S105 (a file name)


class InsecureConfiguration(RuntimeError):
    """Startup refuses to run with a configuration that would be unsafe."""


def write_private(path: Path, content: str) -> None:
    """Create ``path`` with mode 0600 from the start (no window where others could read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_secret(settings: Settings) -> bytes:
    configured = settings.security.secret_key.get_secret_value() if settings.security.secret_key else ""
    if configured:
        if len(configured.encode()) < MIN_SECRET_BYTES:
            raise InsecureConfiguration(
                f"MODELPORT_SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return configured.encode()
    if not is_sqlite(settings.resolved_database_url):
        raise InsecureConfiguration(
            "MODELPORT_SECRET_KEY is not set: replicas sharing a database must share a secret "
            f"of at least {MIN_SECRET_BYTES} bytes"
        )
    path = settings.home / SECRET_FILE
    if path.exists():
        value = path.read_text().strip()
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise InsecureConfiguration(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} bytes")
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users; fixing its mode to 0600", path)
            os.chmod(path, 0o600)
        return value.encode()
    value = secrets.token_urlsafe(48)
    write_private(path, value + "\n")
    log.info("generated a new secret key in %s", path)
    return value.encode()
