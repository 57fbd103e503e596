"""Client-disconnect cancellation: watchers start only for requests that wait, from one timer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from modelport.web import control
from modelport.web.control import ClientClosedRequest, until_disconnect


class Client:
    """An ASGI ``receive`` after the body: counts calls; answers a disconnect once ``hang_up``."""

    def __init__(self) -> None:
        self.calls = 0
        self.gone = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        self.calls += 1
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def test_fast_answers_never_watch() -> None:
    clients = [Client() for _ in range(50)]
    answers = await asyncio.gather(*(until_disconnect(c.receive, asyncio.sleep(0.01, i))
                                     for i, c in enumerate(clients)))
    assert answers == list(range(50))
    await asyncio.sleep(control.WATCH_AFTER_S * 2)  # the sweep passes over the finished ones
    assert sum(c.calls for c in clients) == 0
    assert not control._sweep_of(asyncio.get_running_loop()).waiting


async def test_a_client_that_hangs_up_cancels_its_work_and_the_others_go_on() -> None:
    stayer, leaver = Client(), Client()
    cancelled = asyncio.Event()

    async def work(seconds: float) -> str:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "done"

    staying = asyncio.ensure_future(until_disconnect(stayer.receive, work(0.5)))
    leaving = asyncio.ensure_future(until_disconnect(leaver.receive, work(5)))
    await asyncio.sleep(control.WATCH_AFTER_S * 1.5)
    assert stayer.calls == leaver.calls == 1  # both waited long enough to be watched
    leaver.gone.set()
    with pytest.raises(ClientClosedRequest):
        await leaving
    assert cancelled.is_set()
    assert await staying == "done"
    assert not stayer.gone.is_set()


async def test_a_request_cancelled_from_elsewhere_is_not_a_disconnect() -> None:
    client = Client()
    task = asyncio.ensure_future(until_disconnect(client.receive, asyncio.sleep(5)))
    await asyncio.sleep(control.WATCH_AFTER_S * 1.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_each_event_loop_gets_its_own_sweep() -> None:
    async def one() -> int:
        client = Client()
        waiting = asyncio.ensure_future(until_disconnect(client.receive, asyncio.sleep(5)))
        await asyncio.sleep(control.WATCH_AFTER_S * 1.5)
        client.gone.set()
        with pytest.raises(ClientClosedRequest):
            await waiting
        return client.calls

    assert asyncio.run(one()) == 1
    assert asyncio.run(one()) == 1  # a new loop: a new timer, not the closed loop's
