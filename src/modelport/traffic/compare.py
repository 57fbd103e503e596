"""Per-arm truth from the prediction log: how each version of an alias's policy did since a time.

Per version: requests, error rate, p50/p99 latency, and accuracy (classifiers) or MAE
(regressors) from the feedback given on those requests. A shadow row (request id
``<id>:shadow``) is paired with the caller's row of the same request: ``agreement`` is the
share of rows where both answered the same (classifiers), ``mean_abs_diff`` the mean absolute
difference of their predictions (regressors). Shadow rows are scored against the feedback of
the caller's request, so a candidate's accuracy comes from real traffic it never answered.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import or_, select

from modelport.core.traffic import SHADOW
from modelport.errors import NotFound
from modelport.registry.registry import DEFAULT_ALIAS, ModelRegistry
from modelport.storage.engine import SessionFactory
from modelport.tracking.feedback import compute_metrics, first_predictions, is_classifier
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.tables import FeedbackRow, PredictionRow
from modelport.traffic.shadow import SHADOW_SUFFIX

MAX_ROWS = 200_000
CHUNK = 500


def _pairs(a: list[Any] | None, b: Any) -> list[tuple[Any, Any]]:
    if a is None:
        return []
    return list(zip(a, b if isinstance(b, list) else [b], strict=False))


def shadow_agreement(pairs: list[tuple[Any, Any]], classifier: bool) -> dict[str, float | None]:
    if classifier:
        same = sum(1 for p, s in pairs if p == s or str(p) == str(s))
        return {"agreement": same / len(pairs) if pairs else None}
    diffs = []
    for p, s in pairs:
        try:
            diffs.append(abs(float(p) - float(s)))
        except (TypeError, ValueError):
            continue
    return {"mean_abs_diff": float(np.mean(diffs)) if diffs else None}


class ArmStats:
    """Requests, errors and latencies of one version's arm (the guard reads these too)."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.latencies: list[float] = []
        self.arms: set[str] = set()

    def add(self, status: str, latency_ms: float, arm: str) -> None:
        self.requests += 1
        self.errors += status != "ok"
        self.latencies.append(latency_ms)
        self.arms.add(arm)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def percentile(self, q: float) -> float | None:
        return float(np.percentile(self.latencies, q)) if self.latencies else None


async def arm_rows(sessions: SessionFactory, name: str, alias: str, since: datetime,
                   *, arm: str | None = None) -> list[Any]:
    """Logged rows (request_id, version, arm, status, latency_ms, outputs) of the alias's arms."""
    stmt = (select(PredictionRow.request_id, PredictionRow.version, PredictionRow.arm, PredictionRow.status,
                   PredictionRow.latency_ms, PredictionRow.outputs)
            .where(PredictionRow.model == name, PredictionRow.ts >= since, PredictionRow.arm.is_not(None))
            .order_by(PredictionRow.id).limit(MAX_ROWS))
    if alias == DEFAULT_ALIAS:  # a request naming no version is served by `production`, logged alias-less
        stmt = stmt.where(or_(PredictionRow.alias == alias, PredictionRow.alias.is_(None)))
    else:
        stmt = stmt.where(PredictionRow.alias == alias)
    if arm is not None:
        stmt = stmt.where(PredictionRow.arm == arm)
    async with sessions() as session:
        return list((await session.execute(stmt)).all())


def stats_by_version(rows: list[Any]) -> dict[int, ArmStats]:
    found: dict[int, ArmStats] = {}
    for _rid, version, arm, status, latency_ms, _outputs in rows:
        found.setdefault(int(version), ArmStats()).add(status, float(latency_ms), arm)
    return found


async def _feedback(sessions: SessionFactory, ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    async with sessions() as session:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            rows = (await session.execute(select(FeedbackRow.request_id, FeedbackRow.actual)
                                          .where(FeedbackRow.request_id.in_(chunk)))).all()
            found.update({rid: actual for rid, actual in rows})
    return found


async def compare(sessions: SessionFactory, registry: ModelRegistry, recorder: PredictionRecorder | None,
                  name: str, alias: str, since: datetime) -> dict[str, Any]:
    if recorder is not None and recorder.enabled:
        await recorder.flush()  # the latest requests may still be in the write-behind buffer
    rows = await arm_rows(sessions, name, alias, since)
    base_ids = sorted({rid.removesuffix(SHADOW_SUFFIX) for rid, *_ in rows})
    actuals = await _feedback(sessions, base_ids)
    served = {rid: outputs for rid, _v, arm, status, _l, outputs in rows if arm != SHADOW and status == "ok"}
    stats = stats_by_version(rows)
    versions = []
    for version, arm_stats in sorted(stats.items()):
        try:
            classifier = is_classifier(await registry.resolve(name, str(version)))
        except NotFound:  # deleted since it served: judge by its logged answers
            classifier = any(isinstance(p, int | str | bool) for p in first_predictions(next(
                (o for _r, v, _a, s, _l, o in rows if v == version and s == "ok"), None)) or [])

        def score(version: int = version, classifier: bool = classifier,
                  has_shadow: bool = SHADOW in arm_stats.arms) -> dict[str, Any]:
            truth: list[tuple[Any, Any]] = []
            shadow: list[tuple[Any, Any]] = []
            for rid, v, arm, status, _latency, outputs in rows:
                if v != version or status != "ok":
                    continue
                preds = first_predictions(outputs)
                base = rid.removesuffix(SHADOW_SUFFIX)
                if base in actuals:
                    truth += _pairs(preds, actuals[base])
                if arm == SHADOW and base in served:
                    shadow += _pairs(first_predictions(served[base]), preds or [])
            out: dict[str, Any] = {"feedback": len(truth), **compute_metrics(truth, classifier)}
            if has_shadow:
                out.update(shadow_pairs=len(shadow), **shadow_agreement(shadow, classifier))
            return out

        scored = await asyncio.to_thread(score)
        versions.append({
            "version": version, "arm": "/".join(sorted(arm_stats.arms)), "requests": arm_stats.requests,
            "errors": arm_stats.errors, "error_rate": arm_stats.error_rate,
            "p50_ms": arm_stats.percentile(50), "p99_ms": arm_stats.percentile(99), **scored,
        })
    return {"model": name, "alias": alias, "since": since, "versions": versions}
