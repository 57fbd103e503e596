"""What a job body sees: its row, the services it may use, and progress/cancel checkpoints.

Why a module of its own: the job bodies (training, batch prediction) and the runner all need
it, and the bodies need only a few services, so they depend on the narrow :class:`JobServices`
protocol (the worker entrypoint's :class:`~modelport.worker.WorkerServices` satisfies it), never
on the server's composition root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from modelport.core.inference import InferenceService
from modelport.core.models import ModelService
from modelport.jobs.datasets import DatasetService
from modelport.jobs.repo import JobRepo
from modelport.jobs.tables import JobRow
from modelport.registry.registry import ModelRegistry
from modelport.settings import Settings


class JobServices(Protocol):
    """The services a job may use (read-only attributes, so dataclasses and properties fit)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def registry(self) -> ModelRegistry: ...
    @property
    def datasets(self) -> DatasetService: ...
    @property
    def inference(self) -> InferenceService: ...
    @property
    def models(self) -> ModelService: ...
    @property
    def job_repo(self) -> JobRepo: ...


class JobCancelled(Exception):
    pass


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired): stop without writing anything."""


@dataclass
class JobContext:
    """What a job body sees: its row, the services, and progress/cancel checkpoints."""

    job: JobRow
    owner: str
    services: JobServices
    repo: JobRepo
    cancelled: bool = False
    lost: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The request as submitted (bookkeeping keys such as ``_fingerprint`` removed)."""
        return {k: v for k, v in self.job.params.items() if not k.startswith("_")}

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self.job.id)
        if self.cancelled:
            raise JobCancelled(self.job.id)

    async def step(self, pct: int, message: str) -> None:
        """A checkpoint between steps: stop here if cancelled, else record progress."""
        self.check()
        if not await self.repo.progress(self.job.id, self.owner, pct, message):
            self.lost = True
            self.check()
