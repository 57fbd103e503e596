"""How request-path lookups treat a sick database: wait briefly, then answer from the last good
value, else 503 with ``Retry-After``; never hang, never 500.

Credential (API keys, token users) and registry lookups are cached; when an entry expires one
query refreshes it (single flight, a task of its own). A request waits for that query at most
``timeout`` seconds (``MODELPORT_DB_LOOKUP_TIMEOUT_S``, 0.25). If it fails or takes longer, the
database is *suspect* for a few seconds: lookups then answer from the last good value at once
(no request waits on a query already known to hang), while the query goes on in the background.
A last good value serves for at most ``grace`` seconds after it was read
(``MODELPORT_DB_OUTAGE_GRACE_S``, 60): past that, or with no value at all, the answer is 503
with ``Retry-After`` (:class:`~modelport.errors.Unavailable`). A revocation made during an
outage therefore takes effect within the grace time on other replicas (at once on its own).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from modelport.errors import Unavailable
from modelport.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
#: the errors of an unreachable or failing database (not of a query's own rows)
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGE_ERRORS)


def is_unreachable(exc: BaseException) -> bool:
    """An error that escaped to an edge because the database could not be reached or timed out
    (not a bug): the edge answers 503 with ``Retry-After``, not 500."""
    if isinstance(exc, OperationalError | InterfaceError | TimeoutError | ConnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class DatabaseHealth:
    def __init__(self, timeout: float = 0.25, grace: float = 60.0, suspect_for: float = 5.0) -> None:
        self.timeout = timeout
        self.grace = grace
        self.suspect_for = suspect_for
        self._suspect_until = 0.0
        self._warned = 0.0

    @property
    def suspect(self) -> bool:
        return time.monotonic() < self._suspect_until

    def usable(self, fetched: float | None) -> bool:
        """A value read at ``fetched`` (monotonic) may still answer during an outage."""
        return fetched is not None and time.monotonic() - fetched <= self.grace

    async def wait(self, task: asyncio.Future[T], started: float, stale: T | None,
                   stale_fetched: float | None, what: str) -> T:
        """The lookup's result, or ``stale`` when the database fails or is slow, else 503.

        ``task`` is the shared query (never cancelled here), ``started`` when it began.
        """
        task.add_done_callback(self._settled)
        fallback = stale is not None and self.usable(stale_fetched)
        budget = started + self.timeout - time.monotonic()
        if fallback and self.suspect:
            budget = 0.0
        try:
            if task.done() or budget > 0:
                result = await asyncio.wait_for(asyncio.shield(task), max(budget, 0.0))
            else:
                raise TimeoutError
        except OUTAGE_ERRORS as exc:
            self._suspect_until = time.monotonic() + self.suspect_for
            self._warn(what, exc, fallback)
            if fallback:
                assert stale is not None
                return stale
            raise Unavailable(f"the database did not answer the {what} lookup; retry shortly",
                              retry_after=1.0) from None
        self._suspect_until = 0.0
        return result

    def _settled(self, task: asyncio.Future[T]) -> None:
        """A query that answered (even after its waiters gave up) clears the suspicion."""
        if not task.cancelled() and task.exception() is None:
            self._suspect_until = 0.0

    def _warn(self, what: str, exc: BaseException, fallback: bool) -> None:
        now = time.monotonic()
        if now - self._warned >= 5.0:
            self._warned = now
            log.warning("database lookup (%s) failed or is slow (%s); %s", what,
                        type(exc).__name__, "serving the last good value" if fallback else "answering 503")


def engine_options(settings: Settings) -> dict[str, object]:
    """asyncpg's connect and statement timeouts for the engine (SQLite: none)."""
    if not settings.resolved_database_url.startswith("postgresql"):
        return {}
    return {"connect_args": {"timeout": settings.database.connect_timeout_s,
                             "command_timeout": settings.database.command_timeout_s}}
