"""Job rows: create, read, and every state change as a compare-and-set on the row.

Each transition names the state (and lease owner) it expects, so two workers that both
received a job cannot both run it, and a worker whose lease was taken over cannot overwrite
the new owner's progress or result.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from modelport.errors import Conflict, NotFound
from modelport.jobs.leases import stale
from modelport.jobs.tables import JobRow, OutboxRow
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory

ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")


class JobRepo:
    def __init__(self, sessions: SessionFactory, *, max_attempts: int = 3) -> None:
        self.sessions = sessions
        self.max_attempts = max_attempts

    # ------------------------------------------------------------------ create / read
    async def create(self, kind: str, params: dict[str, Any], *, owner: str | None,
                     idempotency_key: str | None, queue: str | None) -> tuple[JobRow, bool]:
        """Insert a queued job (and its outbox row); an existing idempotency key returns that job."""
        if idempotency_key is not None and (found := await self.by_key(idempotency_key)) is not None:
            return found, False
        now = utcnow()
        row = JobRow(id=uuid.uuid4().hex, kind=kind, state="queued", progress=0, params=params,
                     owner=owner, idempotency_key=idempotency_key, attempts=0,
                     max_attempts=self.max_attempts, cancel_requested=False, message="queued",
                     metrics={}, result={}, created_at=now, updated_at=now)
        try:
            async with self.sessions() as session:
                session.add(row)
                if queue is not None:
                    session.add(OutboxRow(job_id=row.id, queue=queue, created_at=now, attempts=0))
                await session.commit()
        except IntegrityError:
            if idempotency_key is not None and (found := await self.by_key(idempotency_key)):
                return found, False
            raise
        return row, True

    async def by_key(self, key: str) -> JobRow | None:
        async with self.sessions() as session:
            return (await session.execute(select(JobRow).where(JobRow.idempotency_key == key))).scalar()

    async def get(self, job_id: str) -> JobRow:
        async with self.sessions() as session:
            row = await session.get(JobRow, job_id[:64])
        if row is None:
            raise NotFound(f"job {job_id[:64]!r} not found")
        return row

    async def list_jobs(self, *, state: str | None = None, kind: str | None = None, owner: str | None = None,
                        limit: int = 50, offset: int = 0) -> tuple[list[JobRow], int]:
        where = []
        if owner is not None:
            where.append(JobRow.owner == owner)
        if state:
            where.append(JobRow.state == state)
        if kind:
            where.append(JobRow.kind == kind)
        async with self.sessions() as session:
            total = (await session.execute(select(func.count()).select_from(JobRow).where(*where))).scalar()
            rows = (await session.execute(
                select(JobRow).where(*where).order_by(JobRow.created_at.desc(), JobRow.id)
                .limit(limit).offset(offset)
            )).scalars().all()
        return list(rows), int(total or 0)

    async def queued_ids(self, limit: int, exclude: set[str]) -> list[str]:
        async with self.sessions() as session:
            ids = (await session.execute(
                select(JobRow.id).where(JobRow.state == "queued", JobRow.cancel_requested.is_(False))
                .order_by(JobRow.created_at).limit(limit + len(exclude))
            )).scalars().all()
        return [i for i in ids if i not in exclude][:limit]

    # ------------------------------------------------------------------ lease
    async def _cas(self, job_id: str, expect: dict[str, Any], values: dict[str, Any]) -> bool:
        conds = [JobRow.id == job_id]
        for column, value in expect.items():
            attr = getattr(JobRow, column)
            conds.append(attr.is_(None) if value is None else attr == value)
        values.setdefault("updated_at", utcnow())
        async with self.sessions() as session:
            result = await session.execute(update(JobRow).where(*conds).values(**values))
            await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim(self, job_id: str, owner: str, lease_s: float) -> JobRow | None:
        """Take the lease of a queued job, or of a running one whose lease is stale; else None."""
        row = await self.get(job_id)
        if row.state == "running" and not stale(row.lease_owner, row.lease_expires):
            return None
        if row.state not in ACTIVE:
            return None
        if row.cancel_requested:
            await self._cas(job_id, {"state": row.state, "lease_owner": row.lease_owner},
                            {"state": "cancelled", "lease_owner": None, "finished_at": utcnow(),
                             "message": "cancelled"})
            return None
        if row.attempts >= row.max_attempts:
            await self._cas(job_id, {"state": row.state, "lease_owner": row.lease_owner},
                            {"state": "failed", "lease_owner": None, "finished_at": utcnow(),
                             "error": f"gave up after {row.attempts} attempt(s): the worker was lost"})
            return None
        ok = await self._cas(
            job_id, {"state": row.state, "lease_owner": row.lease_owner, "attempts": row.attempts},
            {"state": "running", "lease_owner": owner, "lease_expires": time.time() + lease_s,
             "attempts": row.attempts + 1, "started_at": row.started_at or utcnow(),
             "message": "starting"},
        )
        return await self.get(job_id) if ok else None

    async def renew(self, job_id: str, owner: str, lease_s: float) -> tuple[bool, bool]:
        """Extend the lease; returns (still ours, cancel requested)."""
        ok = await self._cas(job_id, {"state": "running", "lease_owner": owner},
                             {"lease_expires": time.time() + lease_s})
        if not ok:
            return False, False
        async with self.sessions() as session:
            cancel = (await session.execute(
                select(JobRow.cancel_requested).where(JobRow.id == job_id))).scalar()
        return True, bool(cancel)

    async def progress(self, job_id: str, owner: str, pct: int, message: str) -> bool:
        return await self._cas(job_id, {"state": "running", "lease_owner": owner},
                               {"progress": max(0, min(100, pct)), "message": message[:500]})

    async def finish(self, job_id: str, owner: str, state: str, *, metrics: dict[str, float] | None = None,
                     result: dict[str, Any] | None = None, error: str | None = None) -> bool:
        values: dict[str, Any] = {"state": state, "lease_owner": None, "lease_expires": None,
                                  "finished_at": utcnow(), "message": state, "error": error}
        if state == "succeeded":
            values["progress"] = 100
        if metrics is not None:
            values["metrics"] = metrics
        if result is not None:
            values["result"] = result
        return await self._cas(job_id, {"state": "running", "lease_owner": owner}, values)

    async def release(self, job_id: str, owner: str | None, message: str, *, refund: bool = False) -> bool:
        """Give a running job back to the queue (transient error, shutdown)."""
        row = await self.get(job_id)
        if row.state != "running" or (owner is not None and row.lease_owner != owner):
            return False
        values: dict[str, Any] = {"state": "queued", "lease_owner": None, "lease_expires": None,
                                  "message": message[:500]}
        if refund:
            values["attempts"] = max(0, row.attempts - 1)
        return await self._cas(job_id, {"state": "running", "lease_owner": row.lease_owner}, values)

    async def fail(self, job_id: str, error: str) -> bool:
        row = await self.get(job_id)
        if row.state not in ACTIVE:
            return False
        return await self._cas(job_id, {"state": row.state, "lease_owner": row.lease_owner},
                               {"state": "failed", "lease_owner": None, "lease_expires": None,
                                "finished_at": utcnow(), "error": error[:2000], "message": "failed"})

    async def cancel(self, job_id: str) -> JobRow:
        """Queued: cancelled at once. Running: flagged; the runner stops at its next step."""
        row = await self.get(job_id)
        if row.state in TERMINAL:
            raise Conflict(f"job {job_id} already {row.state}")
        if row.state == "queued" and await self._cas(
            job_id, {"state": "queued"},
            {"state": "cancelled", "cancel_requested": True, "finished_at": utcnow(),
             "message": "cancelled"},
        ):
            return await self.get(job_id)
        await self._cas(job_id, {"state": "running"}, {"cancel_requested": True,
                                                       "message": "cancelling"})
        return await self.get(job_id)

    async def mark_cancelled(self, job_id: str) -> bool:
        """After the engine terminated the process running a cancelled job."""
        async with self.sessions() as session:
            result = await session.execute(update(JobRow).where(
                JobRow.id == job_id, JobRow.state.in_(ACTIVE), JobRow.cancel_requested.is_(True)
            ).values(state="cancelled", lease_owner=None, lease_expires=None, finished_at=utcnow(),
                     updated_at=utcnow(), message="cancelled"))
            await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def requeue_stale(self, queue_for: Callable[[str], str] | None) -> list[str]:
        """The reaper: running jobs whose lease is stale go back to queued (and to the outbox)."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(JobRow.id, JobRow.kind, JobRow.lease_owner, JobRow.lease_expires,
                       JobRow.cancel_requested)
                .where(JobRow.state == "running")
            )).all()
        requeued = []
        now = time.time()
        for job_id, kind, owner, expires, cancel in rows:
            if not stale(owner, expires, now):
                continue
            if cancel:
                await self.mark_cancelled(job_id)
                continue
            async with self.sessions() as session:
                conds = [JobRow.id == job_id, JobRow.state == "running",
                         JobRow.lease_owner.is_(None) if owner is None else JobRow.lease_owner == owner]
                result = await session.execute(update(JobRow).where(*conds).values(
                    state="queued", lease_owner=None, lease_expires=None, updated_at=utcnow(),
                    message="re-queued: the worker running it was lost"))
                if result.rowcount and queue_for is not None:  # type: ignore[attr-defined]
                    session.add(OutboxRow(job_id=job_id, queue=queue_for(kind), created_at=utcnow(),
                                          attempts=0))
                await session.commit()
                if result.rowcount:  # type: ignore[attr-defined]
                    requeued.append(job_id)
        return requeued

    # ------------------------------------------------------------------ outbox
    async def pending_outbox(self, limit: int = 100) -> list[OutboxRow]:
        async with self.sessions() as session:
            return list((await session.execute(
                select(OutboxRow).where(OutboxRow.published_at.is_(None)).order_by(OutboxRow.id)
                .limit(limit)
            )).scalars().all())

    async def mark_published(self, outbox_id: int) -> None:
        async with self.sessions() as session:
            await session.execute(update(OutboxRow).where(OutboxRow.id == outbox_id)
                                  .values(published_at=utcnow()))
            await session.commit()

    async def outbox_failed(self, outbox_id: int) -> None:
        async with self.sessions() as session:
            await session.execute(update(OutboxRow).where(OutboxRow.id == outbox_id)
                                  .values(attempts=OutboxRow.attempts + 1))
            await session.commit()
