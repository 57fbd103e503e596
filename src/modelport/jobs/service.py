"""JobService: submit, inspect and cancel jobs; owns the engine and the reaper loop.

Routes, the CLI and both engines use it. Submitting validates everything that can be checked
without running the job (dataset, columns, estimator, hyperparameters, model) so bad requests
are 4xx at once and never enter the queue. The reaper puts jobs whose lease went stale back
in the queue; it runs in every API process and every Celery worker, so a whole-worker crash
is recovered as soon as the lease expires.

Ownership (:mod:`modelport.jobs.ownership`): a job records its submitter's user id; the read
and cancel methods take a ``viewer`` (None: unrestricted) and answer 404 for a job the viewer
does not own. Submitting checks the dataset with the same viewer, so nobody trains on (or
batch-predicts) a dataset they cannot see.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

from modelport.errors import Conflict, InvalidInput, NotFound
from modelport.jobs import estimators
from modelport.jobs.batch import batch_features
from modelport.jobs.datasets import DatasetService
from modelport.jobs.engine import Engine
from modelport.jobs.ownership import visible
from modelport.jobs.queues import queue_name
from modelport.jobs.repo import JobRepo
from modelport.jobs.schemas import BatchPredictRequest, JobInfo, JobList, TrainRequest
from modelport.jobs.training import resolve_features
from modelport.registry.registry import ModelRegistry
from modelport.security import model_access
from modelport.settings import Settings
from modelport.storage.engine import SessionFactory

log = logging.getLogger(__name__)


def _fingerprint(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]



def job_model(params: dict[str, Any]) -> str:
    """The model a job trains (``register_as.name``) or predicts with (``model``)."""
    register_as = params.get("register_as")
    name = register_as.get("name") if isinstance(register_as, dict) else params.get("model")
    return str(name or "")

class JobService:
    def __init__(self, settings: Settings, sessions: SessionFactory, datasets: DatasetService,
                 registry: ModelRegistry) -> None:
        self.settings = settings
        self.datasets = datasets
        self.registry = registry
        self.repo = JobRepo(sessions, max_attempts=settings.jobs.max_attempts)
        self.engine: Engine | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _make_engine(self) -> Engine:
        if self.settings.jobs.engine == "celery":
            from modelport.jobs.engine_celery import CeleryEngine

            return CeleryEngine(self.settings, self.repo)
        from modelport.jobs.engine_embedded import EmbeddedEngine

        return EmbeddedEngine(self.settings, self.repo)

    @property
    def uses_outbox(self) -> bool:
        return self.settings.jobs.engine == "celery"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the engine and the reaper (only in serving processes and workers)."""
        if self.engine is not None:
            return
        self.engine = self._make_engine()
        await self.engine.start()
        self._tasks.append(asyncio.create_task(self._reaper(), name="job-reaper"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.engine is not None:
            await self.engine.close()
            self.engine = None

    async def reap_once(self) -> list[str]:
        queue_for = (lambda kind: queue_name(self.settings, kind)) if self.uses_outbox else None
        requeued = await self.repo.requeue_stale(queue_for)
        if requeued:
            log.warning("re-queued %d job(s) whose worker was lost: %s", len(requeued), requeued)
            if self.engine is not None:
                self.engine.notify()
        return requeued

    async def _reaper(self) -> None:
        interval = min(self.settings.jobs.poll_s, self.settings.jobs.lease_s / 2)
        while True:
            try:
                await self.reap_once()
            except Exception:
                log.warning("job reaper pass failed", exc_info=True)
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ submit
    async def _submit(self, kind: str, params: dict[str, Any], owner: str | None,
                      idempotency_key: str | None) -> tuple[JobInfo, bool]:
        key = None
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 200:
                raise InvalidInput("Idempotency-Key must be 1-200 characters")
            key = f"{owner or '-'}:{idempotency_key}"[:300]
            existing = await self.repo.by_key(key)
            if existing is not None:
                return self._same_request(existing, kind, params), False
        queue = queue_name(self.settings, kind) if self.uses_outbox else None
        params = {**params, "_fingerprint": _fingerprint(params)}
        row, created = await self.repo.create(kind, params, owner=owner, idempotency_key=key, queue=queue)
        if not created:
            return self._same_request(row, kind, params), False
        if self.engine is not None:
            self.engine.notify()
        return JobInfo.of(row), True

    @staticmethod
    def _same_request(row: Any, kind: str, params: dict[str, Any]) -> JobInfo:
        fingerprint = params.get("_fingerprint") or _fingerprint(params)
        if row.kind != kind or row.params.get("_fingerprint") != fingerprint:
            raise Conflict("this Idempotency-Key was used for a different request")
        return JobInfo.of(row)

    async def submit_train(self, req: TrainRequest, *, owner: str | None = None, viewer: str | None = None,
                           idempotency_key: str | None = None) -> tuple[JobInfo, bool]:
        """Validate and queue a training job owned by ``owner`` on a dataset ``viewer`` can see."""
        model_access.check_writable(req.register_as.name)
        spec = estimators.get_spec(req.estimator)
        estimators.validate_hyperparameters(spec, req.hyperparameters)
        info = await self.datasets.get(req.dataset, viewer=viewer)
        resolve_features(info, req.target, req.features)
        target = info.column(req.target)
        if spec.task == "regression" and target is not None and not target.type.startswith(
            ("int", "uint", "float", "double", "bool", "decimal")
        ):
            raise InvalidInput(f"{spec.name} is a regressor; target {req.target!r} is {target.type}")
        if info.num_rows < 4:
            raise InvalidInput("need at least 4 rows to train and evaluate")
        return await self._submit("train", req.model_dump(mode="json"), owner, idempotency_key)

    async def submit_batch(self, req: BatchPredictRequest, *, owner: str | None = None,
                           viewer: str | None = None,
                           idempotency_key: str | None = None) -> tuple[JobInfo, bool]:
        """Validate and queue a batch prediction owned by ``owner`` on a dataset ``viewer`` can see."""
        model = await self.registry.resolve(req.model, req.version)
        info = await self.datasets.get(req.dataset, viewer=viewer)
        batch_features(info, model, req.features)
        return await self._submit("batch_predict", req.model_dump(mode="json"), owner, idempotency_key)

    # ------------------------------------------------------------------ read / cancel
    async def get(self, job_id: str, *, viewer: str | None = None) -> JobInfo:
        row = await self.repo.get(job_id)
        if not visible(row.owner, viewer) or not model_access.visible([job_model(row.params)]):
            raise NotFound(f"job {job_id[:64]!r} not found")  # the same answer as an unknown id
        return JobInfo.of(row)

    async def list(self, *, state: str | None = None, kind: str | None = None, owner: str | None = None,
                   limit: int = 50, offset: int = 0) -> JobList:
        """Jobs newest first: ``owner``'s only, or everyone's when None."""
        rows, total = await self.repo.list_jobs(state=state, kind=kind, owner=owner, limit=limit,
                                                offset=offset)
        # a caller limited to some models sees only their jobs (filtered here: ``total`` still
        # counts every job of the page's query)
        items = [JobInfo.of(r) for r in rows if model_access.visible([job_model(r.params)])]
        return JobList(items=items, total=total, limit=limit, offset=offset)

    async def cancel(self, job_id: str, *, viewer: str | None = None) -> JobInfo:
        await self.get(job_id, viewer=viewer)  # someone else's job is a 404 before anything changes
        row = await self.repo.cancel(job_id)
        if row.state == "running" and self.engine is not None:
            await self.engine.cancel_running(job_id)
        return await self.get(job_id)
