"""The worker-side reaper and outbox publisher, run next to a Celery worker.

``modelport worker`` starts this in its own (spawned) process, so the Celery parent that
forks pool children holds no threads or database sockets. It is the same ``JobService``
loop the API runs: with workers alone (no API up), expired leases are still recovered.
"""

from __future__ import annotations

import asyncio
import signal

from modelport.settings import Settings


async def _serve(settings: Settings) -> None:
    from modelport.bootstrap import build_services

    services = build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await services.start(serve=False)
        await services.jobs.start()
        await stop.wait()
    finally:
        await services.close()


def main(settings: Settings) -> None:
    from modelport.observability.logging import configure_logging

    configure_logging(settings.observability.log_level, settings.observability.log_format)
    asyncio.run(_serve(settings))
