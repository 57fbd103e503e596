"""Redis connection pools that are bounded and shrink back after a burst (#17).

redis-py's pools keep every connection they ever opened: a burst of N concurrent requests left
N sockets open on both ends for the life of the process. :class:`ReapingPool` caps the pool (a
caller waits at most ``timeout`` for a free connection, then fails like an outage, which the
cache and the rate limiter already absorb) and closes connections left idle for
``idle_timeout_s``; a closed connection reconnects on its next use.

It is a :class:`redis.asyncio.BlockingConnectionPool` that notes when each connection went back
to the pool (``release``) and when it was taken (``ensure_connection``, which the pool calls on
every connection it hands out, and which connects one the reaper closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import AbstractConnection, Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # generic in the stubs only
    _Pool = BlockingConnectionPool[Connection]
else:
    _Pool = BlockingConnectionPool


class ReapingPool(_Pool):
    """A bounded pool whose connections are closed after ``idle_timeout_s`` unused."""

    def __init__(self, *, idle_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.idle_timeout_s = idle_timeout_s
        self._mp_idle_since: dict[AbstractConnection, float] = {}
        self._mp_reaper: asyncio.Task[None] | None = None

    async def ensure_connection(self, connection: AbstractConnection) -> None:
        self._mp_idle_since.pop(connection, None)  # taken: before any await, so never reaped in use
        self._start_reaper()
        await super().ensure_connection(connection)  # type: ignore[misc]  # stubs predate redis 5

    async def release(self, connection: AbstractConnection) -> None:
        self._mp_idle_since[connection] = time.monotonic()
        await super().release(connection)

    def open_connections(self) -> int:
        """Connections of this pool with an open socket, idle ones included (for tests, metrics)."""
        return sum(1 for c in self._mp_idle_since if c.is_connected) + self.in_use()

    def in_use(self) -> int:
        (_, _), (used, _) = self.get_connection_count()  # type: ignore[attr-defined]  # stubs predate redis 5
        return int(used)

    async def reap(self) -> int:
        """Close the connections idle for ``idle_timeout_s`` or more; how many were closed."""
        cutoff = time.monotonic() - self.idle_timeout_s
        closed = 0
        for connection, since in list(self._mp_idle_since.items()):
            # checked again after each await: a connection taken meanwhile has left the dict
            if since > cutoff or self._mp_idle_since.get(connection) != since:
                continue
            del self._mp_idle_since[connection]  # the pool keeps the object; it reconnects on use
            if connection.is_connected:
                # disconnect() drops its socket before its first await, so a caller that takes the
                # connection while the close completes finds it closed and reconnects
                with contextlib.suppress(Exception):
                    await connection.disconnect()
                closed += 1
        return closed

    def _start_reaper(self) -> None:
        loop = asyncio.get_running_loop()
        if self._mp_reaper is None or self._mp_reaper.done() or self._mp_reaper.get_loop() is not loop:
            self._mp_reaper = loop.create_task(self._reap_forever(), name="redis-pool-reaper")

    async def _reap_forever(self) -> None:
        interval = max(0.01, self.idle_timeout_s / 2)  # closed between 1x and 1.5x the idle timeout
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap()
            except Exception:  # a reaper that died would let the pool grow again
                log.warning("closing idle Redis connections failed", exc_info=True)

    async def aclose(self) -> None:
        """Stop the reaper and close every connection."""
        reaper, self._mp_reaper = self._mp_reaper, None
        if reaper is not None and not reaper.done() and reaper.get_loop() is asyncio.get_running_loop():
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
        self._mp_idle_since.clear()
        await self.disconnect()


def make_pool(url: str, *, timeout: float, max_connections: int, idle_timeout_s: float) -> ReapingPool:
    """The pool the cache and the rate limiter use: ``timeout`` bounds connecting, each command and
    the wait for a free connection; no retries (redis-py's defaults stall a request for a minute
    against a hung server)."""
    return ReapingPool.from_url(
        url, idle_timeout_s=idle_timeout_s, max_connections=max_connections, timeout=timeout,
        socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
