"""Fit with progress that follows the estimator, and a cancel that stops the fit itself.

Where the estimator reports its work, the job's progress follows it: boosting rounds through
scikit-learn's ``monitor`` callback (gradient boosting), trees by growing the ensemble in tenths
with ``warm_start`` (random forests, extra trees, bagging). Any other estimator fits in one call.
While the fit runs, the job row is polled every ``poll_s``: a cancel request stops the fit at its
next round or tenth (within about ``poll_s`` plus one round), not when it ends.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass, field
from typing import Any

from modelport.jobs.context import JobContext


@dataclass
class FitState:
    """Shared by the fitting thread (writes ``done``, reads ``stop``) and the job (the reverse)."""

    done: float = 0.0
    unit: str = ""
    stop: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, done: float, unit: str) -> bool:
        with self.lock:
            self.done, self.unit = done, unit
            return self.stop


def fit_reporting(model: Any, x: Any, y: Any, state: FitState) -> None:
    """``model.fit(x, y)``, reporting progress into ``state`` and stopping early when asked."""
    params = model.get_params()
    total = params.get("n_estimators")
    if isinstance(total, int) and "monitor" in inspect.signature(model.fit).parameters:
        model.fit(x, y, monitor=lambda i, _est, _locals: state.update((i + 1) / total,
                                                                       f"round {i + 1}/{total}"))
        return
    if isinstance(total, int) and total > 1 and "warm_start" in params and not params["warm_start"]:
        step = max(1, total // 10)
        try:
            for grown in [*range(step, total, step), total]:
                model.set_params(warm_start=True, n_estimators=grown)
                model.fit(x, y)
                if state.update(grown / total, f"{grown}/{total} trees"):
                    return
        finally:
            model.set_params(warm_start=False)
        return
    model.fit(x, y)


async def fit_with_progress(ctx: JobContext, model: Any, x: Any, y: Any, *, start: int, end: int,
                            label: str, poll_s: float = 0.5) -> None:
    """Fit in a thread; move the job from ``start`` to ``end`` percent as the fit reports."""
    state = FitState()
    fit = asyncio.ensure_future(asyncio.to_thread(fit_reporting, model, x, y, state))
    shown = -1
    try:
        while not fit.done():
            await asyncio.wait({fit}, timeout=poll_s)
            _ours, cancel = await ctx.repo.renew(ctx.job.id, ctx.owner, ctx.services.settings.jobs.lease_s)
            if cancel:
                ctx.cancelled = True
                with state.lock:
                    state.stop = True
            with state.lock:
                done, unit = state.done, state.unit
            pct = start + int((end - start) * done)
            if pct != shown and not fit.done() and not ctx.cancelled:
                await ctx.step(pct, f"{label}: {unit}" if unit else label)
                shown = pct
    except BaseException:  # cancelled, lease lost: let the thread stop at its next round
        with state.lock:
            state.stop = True
        raise
    fit.result()
    ctx.check()
