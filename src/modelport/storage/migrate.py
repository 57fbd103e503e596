"""Run Alembic migrations programmatically on an async engine (at startup and from tests).

Alembic is imported when a migration runs, not with this module: ``alembic.command`` pulls in
autogenerate and every dialect's DDL (about a second), and the app, the CLI and the worker all
import this module.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _run(connection: Connection, action: str, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # replicas starting together must not migrate concurrently
        connection.execute(text("SELECT pg_advisory_xact_lock(7331001)"))
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = alembic_config(connection)
    before = MigrationContext.configure(connection).get_current_revision()
    if action == "upgrade":
        command.upgrade(cfg, revision)
    else:
        command.downgrade(cfg, revision)
    after = MigrationContext.configure(connection).get_current_revision()
    if after != before:  # alembic's own lines are warnings only (observability.logging)
        log.info("database schema %sd from %s to %s", action, before or "empty", after or "empty")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", revision)
