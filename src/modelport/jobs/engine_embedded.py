"""The embedded engine: a few long-lived worker processes inside the server.

Processes are never forked from the server (full of threads and sockets): they start from the
fork server of :mod:`modelport.processes`, which has the ML stack imported, so a replacement for a
dead or cancelled worker costs no imports. What a job needs comes in its
:class:`~modelport.settings.Settings`, passed explicitly (a forked worker has the fork server's
environment).

The database is the queue: a dispatcher hands queued job ids to idle processes, so jobs queued
before a restart run after it. Training never runs in the server's process, so it cannot block
serving. A process that dies mid-job is replaced, and its job (whose lease owner is now a dead
local pid) is re-queued at once; cancelling a running job terminates its process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from modelport import processes
from modelport.jobs.repo import JobRepo
from modelport.settings import Settings

log = logging.getLogger(__name__)

def _slot_main(settings: Settings, conn: Connection) -> None:
    """Entry point of a worker process: build resources, then run job ids until told to stop."""
    from modelport import worker
    from modelport.jobs.runner import TransientJobError
    from modelport.observability.logging import configure_logging

    configure_logging(settings.observability.log_level, settings.observability.log_format)
    resources = worker.build(settings)
    import os

    conn.send(("ready", os.getpid()))
    try:
        while True:
            try:
                job_id = conn.recv()
            except (EOFError, OSError):
                break
            if job_id is None:
                break
            try:
                outcome = resources.run_job(job_id)
            except TransientJobError:
                outcome = "transient"
            except Exception:
                log.exception("job %s crashed its runner", job_id)
                outcome = "error"
            conn.send(("done", job_id, outcome))
    finally:
        resources.close()


@dataclass
class _Slot:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    job_id: str | None = None
    cancelling: bool = False
    reader: threading.Thread | None = field(default=None, repr=False)


class EmbeddedEngine:
    uses_outbox = False

    def __init__(self, settings: Settings, repo: JobRepo) -> None:
        self.settings = settings
        self.repo = repo
        self.ctx = processes.context()
        self.slots: list[_Slot] = []
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._backoff: dict[str, tuple[float, int]] = {}
        self._closing = False

    # ------------------------------------------------------------------ processes
    def _spawn(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=_slot_main, args=(self.settings, child),
                                   name="modelport-job-worker")
        process.start()
        child.close()
        slot = _Slot(process=process, conn=parent)
        slot.reader = threading.Thread(target=self._read, args=(slot,), daemon=True,
                                       name=f"job-slot-{process.pid}")
        slot.reader.start()
        self.slots.append(slot)
        return slot

    def _read(self, slot: _Slot) -> None:
        """Thread: forward messages (and the process's death) to the event loop."""
        assert self._loop is not None
        while True:
            try:
                ready = wait([slot.conn, slot.process.sentinel])
                if slot.conn in ready and slot.conn.poll():
                    message: Any = slot.conn.recv()
                else:
                    message = ("dead",)
            except (EOFError, OSError):
                message = ("dead",)
            with contextlib.suppress(RuntimeError):  # loop closed at shutdown
                self._loop.call_soon_threadsafe(self._on_message, slot, message)
            if message[0] == "dead":
                return

    def _on_message(self, slot: _Slot, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            slot.ready = True
        elif kind == "done":
            _, job_id, outcome = message
            slot.job_id = None
            if outcome == "transient":
                _, count = self._backoff.get(job_id, (0.0, 0))
                self._backoff[job_id] = (time.monotonic() + min(60.0, 2.0 ** count), count + 1)
            else:
                self._backoff.pop(job_id, None)
        elif kind == "dead":
            self._on_death(slot)
        self._wake.set()

    def _on_death(self, slot: _Slot) -> None:
        if slot not in self.slots:
            return
        self.slots.remove(slot)
        slot.conn.close()
        slot.process.join(timeout=0)
        if self._closing:
            return
        if slot.job_id is not None and not slot.cancelling:
            log.warning("job worker pid %s died running job %s; it will be retried",
                        slot.process.pid, slot.job_id)
            self._spawn()

    # ------------------------------------------------------------------ engine API
    async def start(self) -> None:
        """Start dispatching; worker processes are spawned when the first job is waiting."""
        self._loop = asyncio.get_running_loop()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="job-dispatcher")

    def notify(self) -> None:
        self._wake.set()

    async def _dispatch(self) -> None:
        while not self._closing:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.jobs.poll_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._assign()
            except Exception:
                log.warning("job dispatch failed; retrying", exc_info=True)

    async def _assign(self) -> None:
        now = time.monotonic()
        waiting = {j for j, (until, _) in self._backoff.items() if until > now}
        busy = {s.job_id for s in self.slots if s.job_id is not None}
        if len(self.slots) < self.settings.jobs.workers:
            missing = self.settings.jobs.workers - len(self.slots)
            for _ in await self.repo.queued_ids(missing, busy | waiting):
                self._spawn()
        idle = [s for s in self.slots if s.ready and s.job_id is None and s.process.is_alive()]
        if not idle:
            return
        for job_id, slot in zip(await self.repo.queued_ids(len(idle), busy | waiting), idle, strict=False):
            slot.job_id = job_id
            try:
                slot.conn.send(job_id)
            except OSError:
                slot.job_id = None

    async def cancel_running(self, job_id: str) -> bool:
        slot = next((s for s in self.slots if s.job_id == job_id), None)
        if slot is None:
            return False
        slot.cancelling = True
        slot.process.kill()
        await asyncio.to_thread(slot.process.join, 10)
        await self.repo.mark_cancelled(job_id)
        return True

    async def close(self) -> None:
        self._closing = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
        running = [(s, s.job_id) for s in self.slots if s.job_id is not None]
        for slot in self.slots:
            if slot.job_id is not None or not slot.ready:  # busy, or still importing: no point waiting
                slot.process.kill()
            else:
                with contextlib.suppress(OSError):
                    slot.conn.send(None)
        for slot in list(self.slots):
            await asyncio.to_thread(slot.process.join, 10)
            if slot.process.is_alive():
                slot.process.kill()
                await asyncio.to_thread(slot.process.join, 5)
        for _slot, job_id in running:
            assert job_id is not None
            # stopped by us, not by the job: back to the queue without using up an attempt
            with contextlib.suppress(Exception):
                await self.repo.release(job_id, None, "re-queued: the server shut down", refund=True)
        self.slots.clear()
