"""Who holds a job: lease owner ids and how to tell that a local owner is dead.

An owner id is ``host:pid:nonce``. A lease normally ends by expiring (the reaper frees it),
but when the owner ran on this host and its process is gone (``kill -9`` of a pool child),
waiting for the expiry would only waste time: such a lease is stale at once.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path


def hostname() -> str:
    return socket.gethostname()[:100]


def new_owner() -> str:
    return f"{hostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_pid(owner: str | None) -> int | None:
    if not owner:
        return None
    host, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    return int(pid) if pid.isdigit() and host == hostname() else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")  # a zombie has already died


def stale(owner: str | None, expires: float | None, now: float | None = None) -> bool:
    """True when a running job's lease can be taken: expired, missing, or its local owner died."""
    now = time.time() if now is None else now
    if owner is None or expires is None or expires < now:
        return True
    pid = owner_pid(owner)
    return pid is not None and not pid_alive(pid)
