"""The interface both job engines implement (embedded worker processes, Celery)."""

from __future__ import annotations

from typing import Protocol


class Engine(Protocol):
    #: True when jobs must be published to a broker through the outbox (Celery).
    uses_outbox: bool

    async def start(self) -> None:
        """Begin delivering queued jobs (spawn processes, connect to the broker)."""

    async def close(self) -> None:
        """Stop; jobs this process was running go back to the queue."""

    def notify(self) -> None:
        """New work is in the database (a submitted or re-queued job, an outbox row)."""

    async def cancel_running(self, job_id: str) -> bool:
        """Stop a running job at once if this process runs it; False when it does not."""
