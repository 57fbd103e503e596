"""Guards: roll a canary back automatically when its arm breaks the policy's bounds.

Every ``interval`` seconds each guarded policy's canary arms are measured from the prediction log
since the policy was set (all replicas' traffic, not one process's); once an arm served
``min_requests`` and its error rate or p99 latency is over the bound, the alias goes back to its
primary alone (shadow kept, guard dropped), recorded in the history as ``guard_rollback`` with the
numbers that tripped it.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from modelport.background import BackgroundTask
from modelport.core.traffic import CANARY, TrafficPolicy
from modelport.storage.engine import SessionFactory
from modelport.tracking.log import PredictionRecorder
from modelport.traffic.compare import arm_rows, stats_by_version
from modelport.traffic.service import TrafficService
from modelport.traffic.tables import AliasPolicyRow

log = logging.getLogger(__name__)


def verdict(policy: TrafficPolicy, version: int, requests: int, error_rate: float | None,
            p99_ms: float | None) -> str | None:
    """Why the canary ``version`` must go (None: it may stay)."""
    guard = policy.guard
    if guard is None or requests < guard.min_requests:
        return None
    if guard.max_error_rate is not None and error_rate is not None and error_rate > guard.max_error_rate:
        return (f"canary v{version} error rate {error_rate:.3f} > {guard.max_error_rate} "
                f"over {requests} requests")
    if guard.max_p99_ms is not None and p99_ms is not None and p99_ms > guard.max_p99_ms:
        return f"canary v{version} p99 {p99_ms:.1f} ms > {guard.max_p99_ms} ms over {requests} requests"
    return None


class GuardWatcher:
    def __init__(self, sessions: SessionFactory, traffic: TrafficService, recorder: PredictionRecorder | None,
                 interval: float = 5.0) -> None:
        self.sessions = sessions
        self.traffic = traffic
        self.recorder = recorder
        self.interval = interval
        self._task = BackgroundTask("traffic-guard")

    async def start(self) -> None:
        self._task.start(self._run)

    async def close(self) -> None:
        await self._task.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check_once()
            except Exception:
                log.warning("guard check failed; retrying", exc_info=True)

    async def check_once(self) -> list[str]:
        """Check every guarded policy once; the ``name/alias`` of those rolled back."""
        async with self.sessions() as session:
            rows = (await session.execute(select(AliasPolicyRow))).scalars().all()
        guarded = [(r.name, r.alias, TrafficPolicy.model_validate(r.policy), r.updated_at) for r in rows]
        guarded = [g for g in guarded if g[2].guard is not None and len(g[2].routes) > 1]
        if guarded and self.recorder is not None and self.recorder.enabled:
            await self.recorder.flush()
        rolled = []
        for name, alias, policy, since in guarded:
            stats = stats_by_version(await arm_rows(self.sessions, name, alias, since, arm=CANARY))
            reasons = [r for v, s in sorted(stats.items())
                       if (r := verdict(policy, v, s.requests, s.error_rate, s.percentile(99)))]
            if not reasons:
                continue
            back = TrafficPolicy.model_validate({**policy.model_dump(), "guard": None,
                                                 "routes": [{"version": policy.primary, "weight": 100}]})
            await self.traffic.apply(name, alias, back, actor="guard", action="guard_rollback",
                                   reason="; ".join(reasons))
            log.warning("guard rolled back %s/%s: %s", name, alias, "; ".join(reasons))
            rolled.append(f"{name}/{alias}")
        return rolled
