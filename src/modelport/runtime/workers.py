"""Worker processes for one model version (``workers: N`` in its serving config).

Why: a runtime that holds the GIL (pure-Python pre-processing, per-tree Python loops) slows the
event loop while it runs in a thread; one that may crash or leak must not take the server down.
Each worker is its own process (started from :mod:`modelport.processes`' fork server, with the
ML stack already imported) that loads the model itself. Tensors travel through shared
memory (``multiprocessing.shared_memory``): the parent writes a batch into the worker's input
segment and sends only a small layout over a pipe; the worker answers through its output
segment. Object (string) tensors, and outputs too big for the segment, go pickled over the pipe.

A worker that dies fails only the batch it was running, at once, with :class:`Unavailable`
(503); it is restarted straight away, and a worker found dead before a call is restarted before
that call, so the request does not fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.shared_memory import SharedMemory

from modelport import processes
from modelport.core.types import TensorDict
from modelport.errors import ModelError, Unavailable
from modelport.runtime.worker_child import (
    SEGMENT_BYTES,
    START_TIMEOUT_S,
    WorkerSpec,
    read_tensors,
    worker_main,
    write_tensors,
)
from modelport.runtime.zygote import ForkedProcess, Zygote

log = logging.getLogger(__name__)


class Worker:
    """One worker process and its segments, driven from one dedicated thread (calls are serial)."""

    def __init__(self, spec: WorkerSpec, index: int, zygote: Zygote | None = None) -> None:
        self.spec = spec
        self.index = index
        self.zygote = zygote
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"worker-{spec.label}-{index}")
        self.input = SharedMemory(create=True, size=SEGMENT_BYTES)
        self.output = SharedMemory(create=True, size=SEGMENT_BYTES)
        self.process: BaseProcess | ForkedProcess | None = None
        self.conn: Connection | None = None
        self.restarts = 0
        self.device = "cpu"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def start(self) -> None:
        """Spawn the process (or fork it from the zygote) and wait until it has the model loaded
        (blocking; worker thread)."""
        process: BaseProcess | ForkedProcess
        if self.zygote is not None:
            process, parent = self.zygote.fork(self.output.name)
        else:
            ctx = processes.context()
            parent, child = ctx.Pipe()
            process = ctx.Process(target=worker_main, args=(child, self.spec, self.output.name), daemon=True,
                                  name=f"modelport-worker-{self.spec.label}-{self.index}")
            process.start()
            child.close()
        if not parent.poll(START_TIMEOUT_S):
            process.kill()
            raise Unavailable(f"worker for {self.spec.label} did not start in {START_TIMEOUT_S:.0f} s")
        try:
            kind, err_type, detail = parent.recv()
        except (EOFError, OSError):
            process.join(1)
            raise Unavailable(f"worker for {self.spec.label} died while loading") from None
        if kind != "ready":
            process.join(5)
            raise ModelError(f"worker for {self.spec.label} failed to load: {err_type}: {detail}")
        self.process, self.conn = process, parent
        self.device = str(err_type or "cpu")  # a ready message carries the model's placement
        log.info("worker %d of %s ready (pid %s)", self.index, self.spec.label, process.pid)

    def restart(self) -> None:
        self._reap()
        self.restarts += 1
        log.warning("restarting worker %d of %s (restart #%d)", self.index, self.spec.label, self.restarts)
        self.start()

    def _reap(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
            self.process = None

    def call(self, inputs: TensorDict) -> TensorDict:
        """One batch, blocking: restart first if the process is gone; 503 if it dies meanwhile."""
        if not self.alive():
            self.restart()
        assert self.conn is not None
        layout, needed = write_tensors(inputs, self.input)
        if needed > self.input.size:
            self._grow_input(needed)
            layout, _ = write_tensors(inputs, self.input)
        try:
            self.conn.send(("predict", self.input.name, layout))
            kind, a, b = self.conn.recv()
        except (EOFError, OSError):
            log.error("worker %d of %s died during a call", self.index, self.spec.label)
            self._reap()
            raise Unavailable("model worker crashed; retry", retry_after=1) from None
        if kind == "error":
            raise ModelError(f"model raised {a}: {b}")
        if a is None:
            outputs: TensorDict = b
            return outputs
        return read_tensors(a, self.output, copy=True)

    def _grow_input(self, needed: int) -> None:
        old = self.input
        self.input = SharedMemory(create=True, size=max(needed, old.size * 2))
        old.close()
        old.unlink()

    def stop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(("stop", None, None))
        if self.process is not None:
            self.process.join(5)
        self._reap()
        for shm in (self.input, self.output):
            shm.close()
            shm.unlink()


class ProcessRunner:
    """``slots`` worker processes; the batcher hands each free one a whole merged batch."""

    def __init__(self, spec: WorkerSpec, workers: int) -> None:
        self.spec = spec
        self.slots = workers
        self.zygote = Zygote(spec) if spec.share else None
        self.workers = [Worker(spec, i, self.zygote) for i in range(workers)]
        self._idle = list(reversed(self.workers))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.zygote is not None:
                await loop.run_in_executor(self.workers[0].thread, self.zygote.start)
            await asyncio.gather(*(loop.run_in_executor(w.thread, w.start) for w in self.workers))
        except BaseException:
            await self.close()
            raise

    @property
    def device(self) -> str:
        """Where the workers' model runs (each worker reports it when ready)."""
        return self.workers[0].device if self.workers else "cpu"

    def all_pids(self) -> list[int]:
        """Every process serving this version: the workers and, when sharing, their zygote."""
        pids = [p for p in self.pids() if p is not None]
        if self.zygote is not None and self.zygote.pid is not None:
            pids.append(self.zygote.pid)
        return pids

    def pids(self) -> list[int | None]:
        return [w.pid for w in self.workers]

    def run(self, inputs: TensorDict) -> asyncio.Future[TensorDict]:
        worker = self._idle.pop()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(worker.thread, worker.call, inputs)

        def release(f: asyncio.Future[TensorDict]) -> None:
            self._idle.append(worker)
            if not f.cancelled() and isinstance(f.exception(), Unavailable):
                # restart now rather than on the next call; the thread runs it before any call
                worker.thread.submit(self._restart_quietly, worker)

        future.add_done_callback(release)
        return future

    @staticmethod
    def _restart_quietly(worker: Worker) -> None:
        if worker.alive():
            return
        try:
            worker.restart()
        except Exception:
            log.exception("restarting worker %d of %s failed; the next call retries",
                          worker.index, worker.spec.label)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(w.thread, w.stop) for w in self.workers),
                             return_exceptions=True)
        if self.zygote is not None:
            await loop.run_in_executor(None, self.zygote.stop)
        for w in self.workers:
            w.thread.shutdown(wait=False)
