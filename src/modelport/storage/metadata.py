"""Imports every table module so ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from modelport.jobs import tables as _job_tables  # noqa: F401
from modelport.search import tables as search_tables  # noqa: F401
from modelport.security import tables as security_tables  # noqa: F401
from modelport.storage import tables  # noqa: F401
from modelport.storage.base import Base
from modelport.tracking import tables as tracking_tables  # noqa: F401
from modelport.traffic import tables as traffic_tables  # noqa: F401
from modelport.webhooks import tables as webhook_tables  # noqa: F401


def metadata() -> MetaData:
    return Base.metadata
