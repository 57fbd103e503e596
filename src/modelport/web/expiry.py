"""Cancel a task at a deadline, with one timer per event loop for deadlines that come in order.

Why not ``asyncio.timeout``: it schedules and cancels a timer for every use, about 6 us each on
this machine, and the body read of every request ran one (``modelport.body_timeout``), almost
never firing. Most deadlines here are "now + the same timeout", so they arrive in order: those
join a queue that one timer walks, and an item whose work finished leaves it when the walk (or a
later arrival) reaches it. A deadline earlier than the queue's last gets a timer of its own. The
batcher's deadline queue (:mod:`modelport.runtime.batching`) works the same way. The request
deadline (``web/deadline.py``) keeps ``asyncio.timeout``. A deadline test had answered late while
it used this queue; later the same test answered 2 s late on ``asyncio.timeout`` too: the first
load of its model imported C extensions that hold the GIL, which no timer interrupts. Moving the
request deadline here would save about 6 us a call; it was not measured again.

Use::

    expiry = expiries().start(deadline)   # a time.monotonic() instant; the current task
    try:
        ...
    except asyncio.CancelledError:
        if not expiry.caught():    # another cancellation
            raise
        ...  # the deadline passed
    finally:
        expiry.finish()
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque


class Expiry:
    """One task's deadline; ``fired`` once it cancelled the task."""

    __slots__ = ("fired", "task", "timer", "when")

    def __init__(self, when: float, task: asyncio.Task[object] | None) -> None:
        self.when = when  # on the loop's clock
        self.task = task
        self.fired = False
        self.timer: asyncio.TimerHandle | None = None

    def fire(self) -> None:
        task, self.task = self.task, None
        if task is not None and not task.done():
            self.fired = True
            task.cancel()

    def caught(self) -> bool:
        """In ``except CancelledError``: True when this deadline cancelled the task (the
        cancellation is then undone, so the caller answers instead), False for any other."""
        if not self.fired:
            return False
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return True

    def finish(self) -> None:
        """The work ended in time: never cancel (leaves the queue when the walk reaches it)."""
        self.task = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Expiries:
    """The deadline queue of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: deque[Expiry] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.due = math.inf

    def start(self, deadline: float) -> Expiry:
        """Cancel the current task at ``deadline`` (a ``time.monotonic()`` instant) unless
        :meth:`Expiry.finish` comes first."""
        loop = self.loop
        when = loop.time() + (deadline - time.monotonic())
        expiry = Expiry(when, asyncio.current_task(loop))
        queue = self.queue
        while queue and queue[0].task is None:
            queue.popleft()
        if queue and when < queue[-1].when:
            expiry.timer = loop.call_at(when, expiry.fire)
            return expiry
        queue.append(expiry)
        if when < self.due:  # no timer, or one set for a head that has gone
            if self.timer is not None:
                self.timer.cancel()
            self.due = when
            self.timer = loop.call_at(when, self._walk)
        return expiry

    def _walk(self) -> None:
        self.timer, self.due = None, math.inf
        queue, now = self.queue, self.loop.time()
        while queue and (queue[0].task is None or queue[0].when <= now):
            queue.popleft().fire()
        if queue:
            self.due = queue[0].when
            self.timer = self.loop.call_at(self.due, self._walk)


_by_loop: dict[asyncio.AbstractEventLoop, dict[str, Expiries]] = {}


def expiries(kind: str) -> Expiries:
    """The running loop's queue for deadlines of one ``kind`` (kinds differ in timeout, so each
    queue's deadlines stay in order)."""
    loop = asyncio.get_running_loop()
    queues = _by_loop.get(loop)
    if queues is None:
        for old in [other for other in _by_loop if other.is_closed()]:
            del _by_loop[old]  # loops of finished asyncio.run calls (tests)
        queues = _by_loop[loop] = {}
    queue = queues.get(kind)
    if queue is None:
        queue = queues[kind] = Expiries(loop)
    return queue
