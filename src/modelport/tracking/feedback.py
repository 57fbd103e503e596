"""Feedback (the actual outcome of a logged prediction) and live performance from it.

``submit`` is an upsert keyed on the request id: sending the same feedback twice leaves one row
and the same answer (a corrected label replaces the old one). Feedback may arrive before the
prediction's row left the write-behind buffer, so an unknown id first flushes the log once.

Performance over a window joins the log with feedback and compares row by row: accuracy for a
classifier, MAE and RMSE for a regressor (decided from the version's signature: a float
``predictions`` output without probabilities is a regressor). Each computation also sets the
Prometheus gauges, and a feedback submission refreshes them for its version in the background.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select

from modelport.errors import InvalidInput, NotFound
from modelport.observability.metrics import Metrics
from modelport.registry.manifest import ModelVersionInfo
from modelport.security import model_access
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.tables import FeedbackRow, PredictionRow
from modelport.tracking.window import parse_window

log = logging.getLogger(__name__)
MAX_ACTUAL_BYTES = 1 << 20
MAX_JOINED = 100_000
DEFAULT_WINDOW = "24h"


def is_classifier(info: ModelVersionInfo) -> bool:
    outputs = info.signature.outputs
    if any("prob" in o.name.lower() for o in outputs):
        return True
    spec = next((o for o in outputs if o.name == "predictions"), outputs[0] if outputs else None)
    return spec is not None and not spec.dtype.startswith("float")


def first_predictions(outputs_json: str | None) -> list[Any] | None:
    """The per-row predictions of a logged answer (its ``predictions`` output, else the first)."""
    if not outputs_json:
        return None
    outputs = orjson.loads(outputs_json)
    values = outputs.get("predictions", next(iter(outputs.values()), None))
    if values is None:
        return None
    arr = np.asarray(values, dtype=object)
    if arr.ndim > 1 and arr.shape[-1] == 1:
        arr = arr.reshape(arr.shape[0])
    return list(arr) if arr.ndim == 1 else None


def _pairs(outputs_json: str | None, actual: Any) -> list[tuple[Any, Any]]:
    preds = first_predictions(outputs_json)
    if preds is None:
        return []
    actuals = actual if isinstance(actual, list) else [actual]
    return list(zip(preds, actuals, strict=False))


def _label_kind(info: ModelVersionInfo) -> str | None:
    """What an actual value must be for this version: ``int``, ``bool``, ``str``, ``number``."""
    outputs = info.signature.outputs
    spec = next((o for o in outputs if o.name == "predictions"), outputs[0] if outputs else None)
    if spec is None:
        return None
    if spec.dtype == "bool":
        return "bool"
    if spec.dtype.startswith(("int", "uint")):
        return "int"
    if spec.dtype in ("str", "bytes"):
        return "str"
    return "number"


def check_actuals(info: ModelVersionInfo, actuals: list[Any]) -> None:
    """Refuse actual values this version could never predict: a label of the wrong type for a
    classifier (``"cat"`` or ``2.5`` for integer classes), a non-number for a regressor."""
    kind = _label_kind(info)
    for i, value in enumerate(actuals):
        if kind == "int":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, float) and value.is_integer())
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "str":
            ok = isinstance(value, str)
        elif kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = True
        if not ok:
            raise InvalidInput(f"actual[{i}]: {str(value)[:32]!r} is not a value {info.name} v{info.version} "
                               f"can predict (its predictions are {kind})")


def compute_metrics(pairs: list[tuple[Any, Any]], classifier: bool) -> dict[str, float | None]:
    if classifier:
        correct = sum(1 for p, a in pairs if p == a or str(p) == str(a))
        return {"accuracy": correct / len(pairs) if pairs else None}
    errors = []
    for p, a in pairs:
        try:
            errors.append(float(p) - float(a))
        except (TypeError, ValueError):
            continue
    if not errors:
        return {"mae": None, "rmse": None}
    arr = np.asarray(errors)
    return {"mae": float(np.abs(arr).mean()), "rmse": float(math.sqrt(float((arr ** 2).mean())))}


class FeedbackService:
    def __init__(self, sessions: SessionFactory, recorder: PredictionRecorder, metrics: Metrics,
                 version_info: Callable[[str, int], Awaitable[ModelVersionInfo]]) -> None:
        self.sessions = sessions
        self.version_info = version_info
        self.recorder = recorder
        self.metrics = metrics
        self._refreshing: set[tuple[str, int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _owner(self, request_id: str) -> PredictionRow | None:
        async with self.sessions() as session:
            return (await session.execute(
                select(PredictionRow).where(PredictionRow.request_id == request_id)
            )).scalars().first()

    async def submit(self, request_id: str, actual: Any, *,
                     principal: str | None = None) -> tuple[dict[str, Any], bool]:
        """Store feedback; returns (body, created). ``principal`` restricts to own predictions."""
        if actual is None:
            raise InvalidInput("actual: required (a value, or a list with one value per row)")
        if len(orjson.dumps(actual)) > MAX_ACTUAL_BYTES:
            raise InvalidInput("actual: larger than 1 MiB")
        row = await self._owner(request_id)
        if row is None:
            await self.recorder.flush()  # the prediction may still be in the buffer
            row = await self._owner(request_id)
        if row is None or (principal is not None and row.principal != principal) or (
                not model_access.visible([row.model])):  # a model outside a limited caller's list
            raise NotFound(f"no logged prediction with request id {request_id[:128]!r}")
        if isinstance(actual, list) and len(actual) != row.rows:
            raise InvalidInput(f"actual: the prediction has {row.rows} row(s), got {len(actual)} values")
        if not isinstance(actual, list) and row.rows != 1:
            raise InvalidInput(f"actual: the prediction has {row.rows} rows; "
                               "send a list with one value per row")
        if row.version is not None:
            check_actuals(await self.version_info(row.model, row.version),
                          actual if isinstance(actual, list) else [actual])
        async with self.sessions() as session:
            existing = await session.get(FeedbackRow, request_id)
            created = existing is None
            if existing is None:
                now = utcnow()
                session.add(FeedbackRow(request_id=request_id, actual=actual, created_at=now,
                                        updated_at=now))
            elif existing.actual != actual:
                existing.actual = actual
                existing.updated_at = utcnow()
            await session.commit()
        if row.version is not None:
            self._schedule_refresh(row.model, row.version)
        return {"request_id": request_id, "actual": actual}, created

    def _schedule_refresh(self, model: str, version: int) -> None:
        key = (model, version)
        if key in self._refreshing:
            return
        self._refreshing.add(key)

        async def refresh() -> None:
            try:
                await asyncio.sleep(0.5)  # coalesce a burst of feedback into one query
                info = await self.version_info(model, version)
                await self.performance(info, DEFAULT_WINDOW)
            except Exception:
                log.warning("refreshing performance gauges of %s v%s failed", model, version,
                            exc_info=True)
            finally:
                self._refreshing.discard(key)

        task = asyncio.get_running_loop().create_task(refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def performance(self, info: ModelVersionInfo, window: str) -> dict[str, Any]:
        span: timedelta = parse_window(window)
        since = utcnow() - span
        stmt = (select(PredictionRow.outputs, FeedbackRow.actual)
                .join(FeedbackRow, FeedbackRow.request_id == PredictionRow.request_id)
                .where(PredictionRow.model == info.name, PredictionRow.version == info.version,
                       PredictionRow.status == "ok", PredictionRow.ts >= since)
                .order_by(PredictionRow.ts.desc()).limit(MAX_JOINED))
        async with self.sessions() as session:
            joined = (await session.execute(stmt)).all()
        classifier = is_classifier(info)

        def compute() -> tuple[int, dict[str, float | None]]:
            pairs = [p for outputs, actual in joined for p in _pairs(outputs, actual)]
            return len(pairs), compute_metrics(pairs, classifier)

        samples, values = await asyncio.to_thread(compute)
        labels = (info.name, str(info.version))
        for name, value in values.items():
            if value is not None:
                getattr(self.metrics, f"model_{name}").labels(*labels).set(value)
        return {"model": info.name, "version": info.version, "window": window,
                "kind": "classification" if classifier else "regression",
                "requests": len(joined), "samples": samples, "metrics": values}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
