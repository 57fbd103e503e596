"""A training job: fit an allow-listed estimator, evaluate it, register it, move an alias.

The model is registered as skops, or in its native format for XGBoost/LightGBM (see native.py).

Steps are checkpoints (progress + cancel). The fit runs in a thread so the lease keeps being
renewed. Registration passes the job id, and the registry keeps one version per job id, so a
job that runs twice (a worker died after registering) still has exactly one version.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.jobs import estimators, native
from modelport.jobs.context import JobContext
from modelport.jobs.datasets import TARGET, DatasetInfo, numeric, to_matrix
from modelport.jobs.fitting import fit_with_progress
from modelport.jobs.schemas import TrainRequest

REFERENCE_ROWS = 1000


def resolve_features(info: DatasetInfo, target: str, features: list[str] | None) -> list[str]:
    """Feature columns (default: every column but the target); checked against the schema."""
    if info.column(target) is None:
        raise InvalidInput(f"dataset {info.id} has no column {target[:64]!r}")
    chosen = features or [c.name for c in info.columns if c.name != target]
    for name in chosen:
        column = info.column(name)
        if column is None:
            raise InvalidInput(f"dataset {info.id} has no column {name[:64]!r}")
        if not numeric(column):
            raise InvalidInput(f"feature column {name[:64]!r} is {column.type}, not numeric")
    if target in chosen:
        raise InvalidInput("the target column cannot also be a feature")
    if not chosen:
        raise InvalidInput("no feature columns")
    return chosen


def evaluate(task: str, model: Any, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    predicted = model.predict(x)
    if task == "regression":
        return {"mae": float(metrics.mean_absolute_error(y, predicted)),
                "rmse": float(np.sqrt(metrics.mean_squared_error(y, predicted))),
                "r2": float(metrics.r2_score(y, predicted))}
    classes = np.asarray(model.classes_)
    out = {"accuracy": float(metrics.accuracy_score(y, predicted))}
    if len(classes) == 2:
        out["f1"] = float(metrics.f1_score(y, predicted, pos_label=classes[1]))
    else:
        out["f1"] = float(metrics.f1_score(y, predicted, average="macro"))
    if hasattr(model, "predict_proba") and len(np.unique(y)) == len(classes):
        proba = model.predict_proba(x)
        if len(classes) == 2:
            out["roc_auc"] = float(metrics.roc_auc_score(y, proba[:, 1]))
        else:
            out["roc_auc"] = float(metrics.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    return {k: round(v, 6) for k, v in out.items()}


def _split(x: np.ndarray, y: np.ndarray, task: str, test_size: float, seed: int | None) -> Any:
    from sklearn.model_selection import train_test_split

    if len(y) < 4:
        raise InvalidInput("need at least 4 rows to train and evaluate")
    stratify = y if task == "classification" and np.unique(y, return_counts=True)[1].min() >= 2 else None
    return train_test_split(x, y, test_size=test_size, random_state=seed, stratify=stratify)


def seed_estimator(model: Any, seed: int | None, hyperparameters: dict[str, Any]) -> None:
    """``random_state`` seeds the estimator too (unless given as a hyperparameter), so two
    identical jobs fit identical models, not only identical splits."""
    if seed is not None and "random_state" not in hyperparameters and "random_state" in model.get_params():
        model.set_params(random_state=seed)


def _target(table: Any, name: str, task: str) -> np.ndarray:
    y = table.column(name).to_numpy(zero_copy_only=False)
    if task == "regression":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInput(f"a regressor needs a numeric target; {name!r} is not") from None
        if not np.isfinite(y).all():
            raise InvalidInput("the target column has missing values")
    elif y.dtype.kind == "O":
        if any(v is None for v in y):
            raise InvalidInput("the target column has missing values")
        y = y.astype(str)
    return np.asarray(y)


async def run_training(ctx: JobContext) -> tuple[dict[str, float], dict[str, Any]]:
    services = ctx.services
    req = TrainRequest.model_validate(ctx.params)
    spec = estimators.get_spec(req.estimator)
    await ctx.step(5, "loading dataset")
    info = await services.datasets.get(req.dataset)
    features = resolve_features(info, req.target, req.features)
    table = await services.datasets.load_table(req.dataset)
    x = await asyncio.to_thread(to_matrix, table, features)
    y = _target(table, req.target, spec.task)
    native.check_labels(spec.name, spec.task, y)  # boosters are registered natively (#18)

    await ctx.step(15, "splitting")
    x_train, x_test, y_train, y_test = _split(x, y, spec.task, req.test_size, req.random_state)
    model = estimators.build(spec, estimators.validate_hyperparameters(spec, req.hyperparameters))
    seed_estimator(model, req.random_state, req.hyperparameters)

    label = f"fitting {spec.name} on {len(y_train)} rows"
    await ctx.step(25, label)
    await fit_with_progress(ctx, model, x_train, y_train, start=25, end=75, label=label)

    await ctx.step(75, f"evaluating on {len(y_test)} held-out rows")
    metrics = await asyncio.to_thread(evaluate, spec.task, model, x_test, y_test)

    await ctx.step(85, "storing the feature reference")
    import pyarrow as pa

    sample = x_train[:REFERENCE_ROWS]
    reference = pa.table({name: pa.array(sample[:, i]) for i, name in enumerate(features)})
    ref_info = await services.datasets.save_table(
        reference, f"reference:{req.register_as.name}", "parquet", job_id=ctx.job.id, owner=ctx.job.owner)

    await ctx.step(90, "registering the model")
    tags = {"job_id": ctx.job.id, "estimator": spec.name, "task": spec.task, "dataset": req.dataset,
            "target": req.target, "features": json.dumps(features)[:60_000],
            "reference_dataset": ref_info.id}
    services.settings.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=services.settings.home) as tmp:
        flavor, filename = native.artifact_format(spec.name)
        path = Path(tmp) / filename
        await asyncio.to_thread(native.save, model, spec.name, path)
        ctx.check()  # last chance to cancel: registering is the commit point
        version = await services.models.register_file(
            req.register_as.name, flavor, path, filename=filename, metrics=metrics, tags=tags,
            description=req.register_as.description or f"{spec.name} trained on {req.dataset}",
            job_id=ctx.job.id,
        )
    if req.register_as.alias:
        await services.registry.set_alias(version.name, req.register_as.alias, version.version)
    result = {"model": version.name, "version": version.version, "alias": req.register_as.alias,
              "task": spec.task, "features": features, "target": req.target,
              "reference_dataset": ref_info.id, "train_rows": len(y_train), "test_rows": len(y_test)}
    return metrics, result


__all__ = ["TARGET", "run_training"]
