"""A dump of the database (SQLite file and PostgreSQL) holds no plaintext key or password."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from typing import Any

import asyncpg
import pytest

from modelport.bootstrap import build_services

PASSWORD = "plaintext-password-canary-42"


async def _populate(settings: Any) -> tuple[Any, list[str]]:
    services = build_services(settings)
    await services.start()
    user = await services.auth.users.create("dana", PASSWORD, scopes=["predict"])
    _, key = await services.auth.keys.create(user.id, name="k", scopes=["predict"])
    assert (await services.auth.keys.verify(key)).owner == user.id
    secret_part = key.split("_", 2)[2]
    admin_key = (settings.home / "admin.key").read_text().strip() if settings.database.url is None else None
    secrets = [PASSWORD, key, secret_part] + ([admin_key, admin_key.split("_", 2)[2]] if admin_key else [])
    return services, secrets


async def test_sqlite_file_has_no_plaintext(make_settings: Any) -> None:
    settings = make_settings()
    services, secrets = await _populate(settings)
    await services.close()
    db = settings.home / "modelport.db"
    raw = b"".join(p.read_bytes() for p in settings.home.glob("modelport.db*"))
    conn = sqlite3.connect(db)
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert "api_keys" in dump and "$argon2id$" in dump  # the dump is real: hashes are there
    for secret in secrets:
        assert secret not in dump and secret.encode() not in raw


@pytest.mark.services
async def test_postgres_dump_has_no_plaintext(make_settings: Any, postgres_url: str) -> None:
    services, secrets = await _populate(make_settings(database_url=postgres_url))
    await services.close()
    dsn = postgres_url.replace("+asyncpg", "")
    if shutil.which("pg_dump"):
        dump = subprocess.run(["pg_dump", "--data-only", dsn], capture_output=True, text=True,
                              check=True, timeout=60).stdout
    else:  # no client tools: every row of every table
        conn = await asyncpg.connect(dsn)
        try:
            tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            rows = [str(dict(r)) for t in tables
                    for r in await conn.fetch(f'SELECT * FROM "{t["tablename"]}"')]
        finally:
            await conn.close()
        dump = "\n".join(rows)
    assert "$argon2id$" in dump
    for secret in secrets:
        assert secret not in dump
