"""A batch-inference job: predict every row of a dataset, store the rows plus a predictions column
and, for classifiers, one ``proba_<label>`` column per class.

Chunks go through ``InferenceService.infer`` like any other request (signature checks,
metrics), pinned to the version resolved at the start so an alias moving mid-job cannot mix
two models in one output.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np

from modelport.core.types import InferenceRequest
from modelport.errors import InvalidInput
from modelport.jobs.context import JobContext
from modelport.jobs.datasets import TARGET, DatasetInfo, numeric, to_matrix
from modelport.jobs.schemas import BatchPredictRequest
from modelport.registry.manifest import ModelVersionInfo

PREDICTIONS = "predictions"


def batch_features(info: DatasetInfo, model: ModelVersionInfo, requested: list[str] | None) -> list[str]:
    """Requested columns, else the model's training features, else every numeric non-target column."""
    features = requested
    if features is None and "features" in model.tags:
        features = [str(f) for f in json.loads(model.tags["features"])]
    if features is None:
        features = [c.name for c in info.columns if c.name != TARGET and numeric(c)]
    missing = [f for f in features if info.column(f) is None]
    if missing:
        raise InvalidInput(f"dataset {info.id} lacks feature column(s) {', '.join(missing[:5])}")
    shape = model.signature.inputs[0].shape
    if len(shape) == 2 and shape[1] != -1 and shape[1] != len(features):
        raise InvalidInput(f"model {model.name} v{model.version} takes {shape[1]} features; "
                           f"the dataset gives {len(features)}")
    return features


def class_labels(predictions: np.ndarray, proba: np.ndarray) -> list[str]:
    """The label of each probability column, read off rows predicted as that column's class
    (the index where no row was: models record no class names in their signature)."""
    winners = proba.argmax(axis=1)
    labels = []
    for k in range(proba.shape[1]):
        rows = np.flatnonzero(winners == k)
        labels.append(str(predictions[rows[0]]) if rows.size else str(k))
    return labels


async def run_batch(ctx: JobContext) -> tuple[dict[str, float], dict[str, Any]]:
    services = ctx.services
    req = BatchPredictRequest.model_validate(ctx.params)
    await ctx.step(5, "resolving the model")
    model = await services.registry.resolve(req.model, req.version)
    info = await services.datasets.get(req.dataset)
    features = batch_features(info, model, req.features)
    table = await services.datasets.load_table(req.dataset)
    x = await asyncio.to_thread(to_matrix, table, features)
    input_name = model.signature.inputs[0].name

    chunk = services.settings.inference.max_batch_rows
    outputs: list[np.ndarray] = []
    probabilities: list[np.ndarray] = []
    for start in range(0, len(x), chunk):
        await ctx.step(10 + int(80 * start / max(1, len(x))), f"predicting rows {start}-{start + chunk}")
        response = await services.inference.infer(InferenceRequest(
            model=model.name, version=str(model.version), inputs={input_name: x[start:start + chunk]},
            protocol="batch", principal=f"job:{ctx.job.id}", use_cache=False,
        ))
        out = response.outputs.get(PREDICTIONS, next(iter(response.outputs.values())))
        outputs.append(out.reshape(out.shape[0], -1)[:, 0] if out.ndim > 1 else out)
        proba = response.outputs.get("probabilities")
        if proba is not None and proba.ndim == 2:
            probabilities.append(proba)

    await ctx.step(92, "writing the output dataset")
    import pyarrow as pa

    predictions = np.concatenate(outputs) if outputs else np.empty(0)
    name = PREDICTIONS if PREDICTIONS not in table.column_names else f"{PREDICTIONS}_{model.name}"
    out_table = table.append_column(name, pa.array(predictions))
    if probabilities and len(probabilities) == len(outputs):
        proba = np.concatenate(probabilities)
        for label, column in zip(class_labels(predictions, proba), proba.T, strict=True):
            column_name = f"proba_{label}"
            if column_name not in out_table.column_names:
                out_table = out_table.append_column(column_name, pa.array(column))
    saved = await services.datasets.save_table(
        out_table, f"predictions:{model.name}:v{model.version}:{info.name}"[:256], info.format,
        job_id=ctx.job.id, owner=ctx.job.owner,
    )
    result = {"model": model.name, "version": model.version, "output_dataset": saved.id,
              "rows": int(len(predictions)), "features": features}
    return {"rows": float(len(predictions))}, result
