"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


@pytest.fixture
def cli_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An iris LogisticRegression as a .skops file, with the CLI's home in a temp directory."""
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELPORT_LOG_FORMAT", "console")
    monkeypatch.chdir(tmp_path)
    x, y = load_iris(return_X_y=True)
    path = tmp_path / "lr.skops"
    sio.dump(LogisticRegression(max_iter=300).fit(x, y), path)
    return path
