"""The Quality pages: accuracy or MAE from feedback over widening windows, and drift per feature
(reference and live histograms side by side, PSI and KS) for one model version."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from modelport.console.deps import ViewerDep, render

router = APIRouter()
WINDOWS = ("1h", "6h", "24h", "7d", "30d")
Window = Annotated[str, Query(max_length=16)]


@router.get("/quality")
async def quality_index(request: Request, who: ViewerDep) -> Response:
    models, error = await who.api.attempt("GET", "/api/v1/models")
    return render(request, "quality_index.html", who, section="quality", models=models or [],
                  error=error.detail if error else None)


def histogram_chart(feature: dict[str, Any]) -> dict[str, Any]:
    """Chart.js bars: the reference's bins with the reference and live fractions side by side."""
    hist = feature.get("histogram") or {}
    edges = [float(e) for e in hist.get("edges", [])]
    bounds = ["-inf", *(f"{e:.3g}" for e in edges), "+inf"]
    labels = [f"{bounds[i]}..{bounds[i + 1]}" for i in range(len(bounds) - 1)]
    return {"type": "bar", "data": {"labels": labels, "datasets": [
        {"label": "reference", "data": hist.get("reference", [])},
        {"label": "live", "data": hist.get("current", [])},
    ]}}


@router.get("/quality/{name}/{version}")
async def quality_page(request: Request, name: str, version: str, who: ViewerDep,
                       window: Window = "24h") -> Response:
    base = f"/api/v1/models/{quote(name, safe='')}/versions/{quote(version, safe='')}"
    drift, drift_error = await who.api.attempt("GET", f"{base}/drift", params={"window": window})
    performance = []
    perf_error = None
    for w in WINDOWS:
        answer, error = await who.api.attempt("GET", f"{base}/performance", params={"window": w})
        if error:
            perf_error = error.detail
            break
        performance.append(answer)
    metric_names = sorted({k for p in performance for k in (p.get("metrics") or {})})
    perf_chart = {"type": "line", "data": {"labels": [f"last {w}" for w in WINDOWS[:len(performance)]],
                                           "datasets": [{"label": m, "data": [(p.get("metrics") or {}).get(m)
                                                                               for p in performance]}
                                                        for m in metric_names]}}
    charts = [(f, histogram_chart(f)) for f in (drift or {}).get("features", [])]
    return render(request, "quality.html", who, section="quality", name=name, version=version,
                  window=window, drift=drift, drift_error=drift_error.detail if drift_error else None,
                  performance=performance, perf_error=perf_error, perf_chart=perf_chart, charts=charts,
                  windows=WINDOWS)
