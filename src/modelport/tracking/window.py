"""Time windows (``24h``, ``7d``) and timestamps as the tracking API takes them: UTC always."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from modelport.errors import InvalidInput

_WINDOW = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_WINDOW = timedelta(days=366)


def parse_window(value: str) -> timedelta:
    match = _WINDOW.match(value or "")
    if not match:
        raise InvalidInput(f"window {value[:32]!r}: use a number and a unit s, m, h, d or w (e.g. 24h)")
    window = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if window <= timedelta(0) or window > MAX_WINDOW:
        raise InvalidInput("window must be positive and at most 366 days")
    return window


def as_utc(value: datetime | None) -> datetime | None:
    """Naive timestamps are taken as UTC (SQLite also hands them back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def since_window(window: str) -> tuple[datetime, datetime]:
    until = datetime.now(UTC)
    return until - parse_window(window), until
