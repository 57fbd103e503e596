"""``modelport jobs ...``: train with a progress bar until done, list, show, cancel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelport.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_jobs_train_list_show_cancel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELPORT_DEMO_MODELS", "false")
    monkeypatch.setenv("MODELPORT_JOB_POLL_S", "0.2")
    runner = CliRunner()
    result = runner.invoke(app, ["jobs", "train", "--dataset", "builtin:wine", "--estimator",
                                 "LogisticRegression", "--name", "wine", "--alias", "production",
                                 "-p", "max_iter=2000", "-p", "C=0.5"])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "wine version 1" in result.output
    job_id = result.output.split("submitted job ")[1].split()[0]

    result = runner.invoke(app, ["jobs", "show", job_id])
    shown = json.loads(result.output)
    assert shown["state"] == "succeeded"
    assert shown["params"]["hyperparameters"] == {"max_iter": 2000, "C": 0.5}
    result = runner.invoke(app, ["jobs", "list"])
    assert result.exit_code == 0 and job_id[:8] in result.output
    result = runner.invoke(app, ["jobs", "cancel", job_id])
    assert result.exit_code == 1 and "already succeeded" in result.output
    result = runner.invoke(app, ["jobs", "train", "--dataset", "builtin:wine", "--estimator", "Ridge",
                                 "--name", "w", "-p", "alpha=-1"])
    assert result.exit_code == 1 and "alpha" in result.output
