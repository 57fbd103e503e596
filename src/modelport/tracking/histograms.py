"""Reference and live histograms per feature, added to a drift answer for the console's charts.

The reference stores each feature's decile bin edges and the fraction of its rows in each bin
(see :mod:`modelport.tracking.reference`); the live histogram is the fraction of the window's
logged values in those same bins, so the two can be drawn side by side. Kept apart from the
drift statistics (:mod:`modelport.tracking.drift`): a chart is not a verdict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from modelport.tracking.reference import FloatArray


def live_fractions(edges: list[float], n_bins: int, values: FloatArray) -> list[float]:
    """The fraction of ``values`` in each of the reference's ``n_bins`` bins."""
    counts = np.bincount(np.searchsorted(np.asarray(edges), values, side="right"), minlength=n_bins)[:n_bins]
    return (counts / max(values.size, 1)).round(6).tolist()  # type: ignore[no-any-return]


def tensor_columns(inputs_json: list[str | None], tensor: str) -> FloatArray | None:
    """One logged input tensor across requests as a (rows, columns) matrix, or None."""
    blocks = []
    for text in inputs_json:
        if not text:
            continue
        data = orjson.loads(text)
        if not isinstance(data, dict) or tensor not in data:
            continue
        try:
            arr = np.asarray(data[tensor], dtype=np.float64)
        except (TypeError, ValueError):
            continue
        blocks.append(arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1))
    if not blocks or len({b.shape[1] for b in blocks}) != 1:
        return None
    return np.concatenate(blocks)


def add_histograms(results: list[dict[str, Any]], reference: list[dict[str, Any]],
                   inputs_json: list[str | None]) -> None:
    """Give each feature result a ``histogram``: ``{"edges", "reference", "current"}``."""
    by_name = {f["name"]: f for f in reference}
    matrices: dict[str, FloatArray | None] = {}
    for result in results:
        feature = by_name.get(result.get("feature"))
        if feature is None:
            continue
        tensor = feature["tensor"]
        if tensor not in matrices:
            matrices[tensor] = tensor_columns(inputs_json, tensor)
        x = matrices[tensor]
        if x is None or feature["column"] >= x.shape[1]:
            continue
        col = x[:, feature["column"]]
        col = col[np.isfinite(col)]
        if col.size == 0:
            continue
        result["histogram"] = {"edges": feature["edges"], "reference": feature["fractions"],
                               "current": live_fractions(feature["edges"], len(feature["fractions"]), col)}
