"""Helper processes start from the fork server, with the ML stack already imported."""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection

from modelport import processes


def report(conn: Connection) -> None:
    conn.send((os.getppid(), [name for name in processes.PRELOAD if name in sys.modules]))
    conn.close()


def test_a_helper_starts_with_the_stack_imported_and_is_not_forked_from_here() -> None:
    ctx = processes.context()
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=report, args=(child,))
    process.start()
    child.close()
    try:
        assert parent.poll(120), "the helper did not report"
        ppid, imported = parent.recv()
    finally:
        process.join(10)
    assert imported == list(processes.PRELOAD)  # nothing left to import: the fork server did it
    assert ppid != os.getpid()  # forked by the fork server, not by this (threaded) process
    assert process.exitcode == 0
