"""Reference distributions: what each input feature looked like when the version was made.

Stored per model version (table ``model_references``) from training data (the training job
calls :meth:`ReferenceStore.store` with its ``X``), from a file uploaded with the model (CSV or
``.npy``), or, for the demo models, from their bundled training sets. Per feature it keeps what
drift needs and nothing else: decile bin edges with the fraction of rows in each bin (PSI), and
256 evenly spaced quantiles (the reference CDF for the KS statistic). The raw data is not kept.

Features are the columns of the version's first input tensor (``input[0]``, ``input[1]``...);
a CSV header row, when present, is kept as each feature's ``label``.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import numpy as np
import numpy.typing as npt

from modelport.errors import InvalidInput, NotFound
from modelport.registry.manifest import ModelVersionInfo
from modelport.registry.registry import ModelRegistry
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.tracking.tables import ReferenceRow

N_BINS = 10
N_QUANTILES = 256
MAX_FEATURES = 4096
FloatArray = npt.NDArray[np.float64]


def summarize(values: FloatArray) -> dict[str, Any] | None:
    """Bin edges, bin fractions and quantiles of one feature (None when nothing is finite)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return None
    edges = np.unique(np.quantile(v, np.linspace(0, 1, N_BINS + 1))[1:-1])
    counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=edges.size + 1)
    return {
        "edges": edges.tolist(),
        "fractions": (counts / v.size).tolist(),
        "quantiles": np.quantile(v, np.linspace(0, 1, N_QUANTILES)).tolist(),
        "n": int(v.size),
        "mean": float(v.mean()),
        "std": float(v.std()),
    }


def build_reference(x: FloatArray, tensor: str, labels: list[str] | None = None) -> list[dict[str, Any]]:
    features = []
    for j in range(x.shape[1]):
        summary = summarize(x[:, j])
        if summary is None:
            continue
        summary.update({"name": f"{tensor}[{j}]", "tensor": tensor, "column": j})
        if labels and j < len(labels) and labels[j]:
            summary["label"] = labels[j][:128]
        features.append(summary)
    return features


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_reference_file(data: bytes, filename: str) -> tuple[FloatArray, list[str] | None]:
    """A 2-D float matrix from ``.npy`` (no pickles) or CSV (optional header row)."""
    name = filename.lower()
    labels: list[str] | None = None
    try:
        if name.endswith(".npy"):
            arr = np.load(io.BytesIO(data), allow_pickle=False)
            matrix = np.asarray(arr, dtype=np.float64)
        elif name.endswith(".csv") or name.endswith(".txt"):
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            rows = [r for r in rows if r and any(c.strip() for c in r)]
            if rows and not all(_is_number(c) for c in rows[0]):
                labels = [c.strip() for c in rows[0]]
                rows = rows[1:]
            matrix = np.asarray([[float(c) for c in r] for r in rows], dtype=np.float64)
        else:
            raise InvalidInput("reference file: upload a .csv or .npy file")
    except InvalidInput:
        raise
    except (ValueError, UnicodeDecodeError, OSError, TypeError):
        raise InvalidInput("reference file: not a numeric CSV/.npy matrix (every row the same "
                           "number of numbers)") from None
    if matrix.ndim == 1:
        matrix = matrix.reshape(-1, 1)
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        raise InvalidInput("reference file: need a 2-D matrix with at least 2 rows")
    return matrix, labels


class ReferenceStore:
    def __init__(self, sessions: SessionFactory, registry: ModelRegistry) -> None:
        self.sessions = sessions
        self.registry = registry

    async def store(self, model: str, version: int, x: Any, *, labels: list[str] | None = None,
                    source: str = "training") -> dict[str, Any]:
        """Store (or replace) the reference of a version from a 2-D array of its first input."""
        info = await self.registry.get_version(model, version)
        matrix = np.asarray(x, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        if matrix.ndim != 2 or matrix.shape[0] < 2:
            raise InvalidInput("reference data: need a 2-D matrix with at least 2 rows")
        spec = info.signature.inputs[0]
        width = spec.shape[1] if len(spec.shape) == 2 else 1 if len(spec.shape) == 1 else -1
        if width != -1 and matrix.shape[1] != width:
            raise InvalidInput(f"reference data has {matrix.shape[1]} columns; input {spec.name!r} "
                               f"of {model} v{version} has {width} features")
        if matrix.shape[1] > MAX_FEATURES:
            raise InvalidInput(f"reference data: at most {MAX_FEATURES} features")
        features = await asyncio.to_thread(build_reference, matrix, spec.name, labels)
        async with self.sessions() as session:
            row = await session.get(ReferenceRow, (model, version))
            if row is None:
                row = ReferenceRow(model=model, version=version)
                session.add(row)
            row.source = source[:32]
            row.rows = int(matrix.shape[0])
            row.features = features
            row.created_at = utcnow()
            await session.commit()
        return self.describe(info, source, int(matrix.shape[0]), features)

    @staticmethod
    def describe(info: ModelVersionInfo, source: str, rows: int,
                 features: list[dict[str, Any]]) -> dict[str, Any]:
        return {"model": info.name, "version": info.version, "source": source, "rows": rows,
                "features": [{k: f[k] for k in ("name", "label", "mean", "std", "n") if k in f}
                             for f in features]}

    async def get(self, model: str, version: int) -> ReferenceRow:
        async with self.sessions() as session:
            row = await session.get(ReferenceRow, (model, version))
        if row is None:
            raise NotFound(f"{model} v{version} has no reference distribution; upload one with "
                           f"PUT /api/v1/models/{model}/versions/{version}/reference")
        return row
