"""Data drift: logged inputs over a window against the version's reference, per feature.

Two numbers per feature, both plain numpy:

* PSI (population stability index) over the reference's decile bins, on *smoothed* fractions
  (half a count added to every bin, so an empty bin of a small window is not ``ln(1e-4)``):
  ``sum((cur - ref) * ln(cur / ref))``. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift,
  > 0.25 major shift.
* KS: the largest gap between the reference CDF (its 256 stored quantiles, as a step function:
  discrete features with ties compare fairly) and the window's empirical CDF, with the
  asymptotic Kolmogorov p-value for the two sample sizes.

Small samples: PSI alone alarms on them (on 35 real iris rows drawn from the reference itself,
PSI was 1.02 while KS said p = 0.84: with ``k`` bins and ``n`` rows, PSI's expected value under
no drift is about ``(k - 1) / n``). So a feature is judged only with at least ``MIN_ROWS`` (50)
finite values (else its verdict is ``insufficient_data``), and it is ``drift`` only when both
agree: PSI >= 0.25 *and* KS significant (p < 0.01) and material (D >= 0.1, so a huge window does
not flag negligible shifts). ``warning`` when either alone says so, or PSI >= 0.1, after
subtracting PSI's small-sample bias ``(k - 1) / n``. It reads only rows logged with
``capture=full``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select

from modelport.registry.manifest import ModelVersionInfo
from modelport.storage.engine import SessionFactory
from modelport.tracking.histograms import add_histograms
from modelport.tracking.reference import FloatArray, ReferenceStore
from modelport.tracking.tables import PredictionRow
from modelport.tracking.window import since_window

PSI_WARN = 0.1
PSI_DRIFT = 0.25
KS_ALPHA = 0.01
KS_MIN_D = 0.1
#: rows a feature needs (finite values) before it gets a verdict
MIN_ROWS = 50
MAX_REQUESTS = 20_000
#: pseudo-count added to every bin before PSI (Jeffreys smoothing)
SMOOTHING = 0.5


def psi(edges: list[float], ref_fractions: list[float], current: FloatArray, ref_n: int = 10_000) -> float:
    """PSI of ``current`` against the reference bins, both smoothed with :data:`SMOOTHING`."""
    k = len(ref_fractions)
    counts = np.bincount(np.searchsorted(np.asarray(edges), current, side="right"), minlength=k)[:k]
    cur = (counts + SMOOTHING) / (current.size + SMOOTHING * k)
    ref = (np.asarray(ref_fractions) * ref_n + SMOOTHING) / (ref_n + SMOOTHING * k)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi_bias(bins: int, n: int) -> float:
    """PSI's expected value when nothing drifted, for ``n`` rows in ``bins`` bins."""
    return (bins - 1) / max(n, 1)


def kolmogorov_pvalue(d: float, n: int, m: int) -> float:
    """P(D >= d) for two samples of sizes n and m (Kolmogorov's asymptotic series)."""
    en = math.sqrt(n * m / (n + m))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 0.2:
        return 1.0
    total = sum(2 * (-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return float(min(1.0, max(0.0, total)))


def ks(ref_quantiles: list[float], ref_n: int, current: FloatArray) -> tuple[float, float]:
    q = np.sort(np.asarray(ref_quantiles))
    cur = np.sort(current)
    points = np.concatenate([q, cur])
    ref_cdf = np.searchsorted(q, points, side="right") / q.size
    cur_cdf = np.searchsorted(cur, points, side="right") / cur.size
    d = float(np.max(np.abs(ref_cdf - cur_cdf)))
    return d, kolmogorov_pvalue(d, ref_n, cur.size)


def feature_verdict(psi_value: float, d: float, p: float, bias: float = 0.0) -> str:
    """``drift`` when PSI and KS agree; ``warning`` when one of them (PSI net of its small-sample
    ``bias``) says so; else ``ok`` (see the module doc)."""
    psi_says = psi_value >= PSI_DRIFT
    ks_says = p < KS_ALPHA and d >= KS_MIN_D
    if psi_says and ks_says:
        return "drift"
    if ks_says or psi_value - bias >= PSI_WARN:
        return "warning"
    return "ok"


def _columns(inputs_json: list[str], tensor: str) -> FloatArray | None:
    blocks = []
    for text in inputs_json:
        data = orjson.loads(text)
        if tensor not in data:
            continue
        try:
            arr = np.asarray(data[tensor], dtype=np.float64)
        except (TypeError, ValueError):
            continue
        blocks.append(arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1))
    widths = {b.shape[1] for b in blocks}
    if not blocks or len(widths) != 1:
        return None
    return np.concatenate(blocks)


def compare(features: list[dict[str, Any]], ref_rows: int, inputs_json: list[str]) -> dict[str, Any]:
    by_tensor: dict[str, FloatArray | None] = {}
    results = []
    rows = 0
    for f in features:
        tensor = f["tensor"]
        if tensor not in by_tensor:
            by_tensor[tensor] = _columns(inputs_json, tensor)
        x = by_tensor[tensor]
        if x is None or f["column"] >= x.shape[1]:
            continue
        col = x[:, f["column"]]
        col = col[np.isfinite(col)]
        rows = max(rows, int(x.shape[0]))
        ref_n = min(f.get("n", ref_rows), ref_rows)
        if col.size < MIN_ROWS:
            results.append({"feature": f["name"], "label": f.get("label"), "verdict": "insufficient_data",
                             "reference_mean": f.get("mean"), "n": int(col.size)})
            continue
        p_value = psi(f["edges"], f["fractions"], col, ref_n)
        d, p = ks(f["quantiles"], ref_n, col)
        results.append({
            "feature": f["name"], "label": f.get("label"), "psi": round(p_value, 6),
            "ks": round(d, 6), "ks_pvalue": p,
            "verdict": feature_verdict(p_value, d, p, psi_bias(len(f["fractions"]), int(col.size))),
            "reference_mean": f.get("mean"), "current_mean": float(col.mean()), "n": int(col.size),
        })
    return {"rows": rows, "features": results}


class DriftService:
    def __init__(self, sessions: SessionFactory, references: ReferenceStore) -> None:
        self.sessions = sessions
        self.references = references

    async def drift(self, info: ModelVersionInfo, window: str) -> dict[str, Any]:
        reference = await self.references.get(info.name, info.version)
        since, until = since_window(window)
        stmt = (select(PredictionRow.inputs)
                .where(PredictionRow.model == info.name, PredictionRow.version == info.version,
                       PredictionRow.status == "ok", PredictionRow.ts >= since,
                       PredictionRow.inputs.is_not(None))
                .order_by(PredictionRow.ts.desc()).limit(MAX_REQUESTS))
        async with self.sessions() as session:
            logged = list((await session.execute(stmt)).scalars().all())
        result = await asyncio.to_thread(compare, reference.features, reference.rows,
                                         [t for t in logged if t])
        await asyncio.to_thread(add_histograms, result["features"], reference.features, logged)  # console
        drifted = [f["feature"] for f in result["features"] if f["verdict"] == "drift"]
        if all(f["verdict"] == "insufficient_data" for f in result["features"]):
            verdict = "insufficient_data"
        elif drifted:
            verdict = "drift"
        elif any(f["verdict"] == "warning" for f in result["features"]):
            verdict = "warning"
        else:
            verdict = "ok"
        return {
            "model": info.name, "version": info.version, "window": window,
            "since": since, "until": until, "requests": len(logged), "rows": result["rows"],
            "reference": {"source": reference.source, "rows": reference.rows},
            "verdict": verdict, "drifted_features": drifted, "features": result["features"],
            "thresholds": {"psi_warning": PSI_WARN, "psi_drift": PSI_DRIFT, "ks_alpha": KS_ALPHA,
                           "ks_min_statistic": KS_MIN_D, "min_rows": MIN_ROWS},
        }
