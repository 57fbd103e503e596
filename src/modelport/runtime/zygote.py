"""Worker processes that share one loaded model: load once in a zygote, fork the workers from it.

Why: a worker that loads the model itself holds its own copy of it; N workers hold N copies (and,
spawned, N copies of the libraries: two workers of a 6 MB forest took ~475 MB each, nearly all of
it imports). A zygote is one process (from :mod:`modelport.processes`' fork server) that loads and
warms the model, then ``os.fork``\\ s each worker: the children share every page they do not
write (copy-on-write), so a second worker costs only what it touches. ``gc.freeze()`` before
forking keeps the collector from writing to the shared objects.

Forking is only safe for runtimes that have started no threads of their own by then (OpenMP,
ONNX Runtime and torch pools do not survive a fork); runtimes opt in with ``fork_safe`` and the
rest start one process per worker from the fork server, which has loaded no model. A worker that
dies is forked again from the zygote (fast: no reload); if the zygote itself dies, the next fork
starts and loads a new one.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

from modelport import processes
from modelport.errors import ModelError, Unavailable

if TYPE_CHECKING:
    from modelport.runtime.worker_child import WorkerSpec

START_TIMEOUT_S = 120.0


class ForkedProcess:
    """A worker forked by the zygote: not our child, so it is watched and killed by pid.

    The zygote ignores SIGCHLD, so the kernel reaps its children at once and a dead pid is gone.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def is_alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # the pid was reused by a process we may not signal
            return False
        return not self._zombie()

    def _zombie(self) -> bool:
        """A dead worker whose zygote died too waits as a zombie until init reaps it (if ever)."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rpartition(")")[2].split()[:1] == ["Z"]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 3600.0)
        while self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)


def zygote_main(control: Connection, spec: WorkerSpec) -> None:  # pragma: no cover - child
    """Load the model, then fork a worker for every ``("fork", conn, out_name)`` message."""
    from modelport.runtime.worker_child import load_for_worker, serve

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    try:
        runtime = load_for_worker(spec)
    except Exception as exc:
        control.send(("error", type(exc).__name__, str(exc)[:500]))
        return
    gc.collect()
    gc.freeze()  # the loaded objects stay out of the collector's writes, so their pages stay shared
    control.send(("ready", runtime.placement(), None))
    while True:
        try:
            msg = control.recv()
        except (EOFError, OSError):
            break
        if msg[0] != "fork":
            break
        _, conn, out_name = msg
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                conn.send(("ready", runtime.placement(), None))
                serve(conn, runtime, out_name)
            finally:
                os._exit(0)
        conn.close()
        control.send(("forked", pid, None))


class Zygote:
    """The parent's handle on the zygote process; ``fork`` is called from the workers' threads."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.process: BaseProcess | None = None
        self.control: Connection | None = None
        self.device = "cpu"
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Spawn the zygote and wait until it has loaded the model (blocking)."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        ctx = processes.context()
        parent, child = ctx.Pipe()
        process = ctx.Process(target=zygote_main, args=(child, self.spec), daemon=True,
                              name=f"modelport-zygote-{self.spec.label}")
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT_S):
            process.kill()
            raise Unavailable(f"zygote for {self.spec.label} did not start in {START_TIMEOUT_S:.0f} s")
        try:
            kind, a, b = parent.recv()
        except (EOFError, OSError):
            process.join(1)
            raise Unavailable(f"zygote for {self.spec.label} died while loading") from None
        if kind != "ready":
            process.join(5)
            raise ModelError(f"worker for {self.spec.label} failed to load: {a}: {b}")
        self.process, self.control, self.device = process, parent, str(a or "cpu")

    def fork(self, out_name: str) -> tuple[ForkedProcess, Connection]:
        """A new worker forked from the loaded model, and the parent's end of its pipe."""
        with self._lock:
            if self.process is None or not self.process.is_alive() or self.control is None:
                self._stop()
                self._start()
            assert self.control is not None
            parent, child = multiprocessing.Pipe()
            try:
                self.control.send(("fork", child, out_name))  # the fd travels to the zygote
                kind, pid, _ = self.control.recv()
            except (EOFError, OSError):
                self._stop()
                raise Unavailable(f"zygote for {self.spec.label} died; retry", retry_after=1) from None
            finally:
                child.close()
        return ForkedProcess(int(pid)), parent

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self.control is not None:
            with contextlib.suppress(OSError):
                self.control.send(("stop", None, None))
            self.control.close()
            self.control = None
        if self.process is not None:
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
            self.process = None
