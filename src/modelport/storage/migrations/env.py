"""Alembic environment: always given a live connection by :mod:`modelport.storage.migrate`."""

from __future__ import annotations

from alembic import context

from modelport.storage.metadata import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through modelport.storage.migrate (or `modelport db upgrade`)")

context.configure(
    connection=connection,
    target_metadata=metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
