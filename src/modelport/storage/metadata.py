"""Imports every table module so ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from modelport.jobs import tables as _job_tables  # noqa: F401
from modelport.storage import tables  # noqa: F401
from modelport.storage.base import Base


def metadata() -> MetaData:
    return Base.metadata
