"""Request descriptions: rows from lists, numpy and pandas; alias bodies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelport.client import calls


def test_rows_from_lists_arrays_and_frames() -> None:
    assert calls.as_rows([1, 2]) == [1, 2]
    assert calls.as_rows([(1, 2), (3, 4)]) == [[1, 2], [3, 4]]
    assert calls.as_rows(np.array([[1.5, 2.0]])) == [[1.5, 2.0]]
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert calls.as_rows(frame) == [[1.0, 3.0], [2.0, 4.0]]
    assert calls.as_rows(frame.iloc[0]) == [1.0, 3.0]
    with pytest.raises(TypeError, match="numpy array"):
        calls.as_rows("1,2")


def test_alias_body_merges_a_traffic_policy() -> None:
    policy = {"routes": [{"version": 1, "weight": 90}, {"version": 2, "weight": 10}]}
    assert calls.set_alias("m", "production", None, policy).json == policy
    assert calls.set_alias("m", "production", 3, None).json == {"version": 3}
    with pytest.raises(ValueError, match="version or a traffic policy"):
        calls.set_alias("m", "production", None, None)


def test_path_segments_are_escaped() -> None:
    assert calls.get_model("a/b").path == "/api/v1/models/a%2Fb"


def test_alias_history_and_rollback_calls() -> None:
    history = calls.alias_history("m", "prod/x", 5)
    assert (history.method, history.path, history.params) == (
        "GET", "/api/v1/models/m/aliases/prod%2Fx/history", {"limit": 5})
    rollback = calls.rollback_alias("m", "production", "too early")
    assert (rollback.method, rollback.path, rollback.json) == (
        "POST", "/api/v1/models/m/aliases/production/rollback", {"reason": "too early"})


def test_model_limits_travel_only_when_given() -> None:
    key = calls.create_key(["predict"], name="", expires_in=None, rate_limit=None, owner=None,
                           models=["fraud-*"])
    assert key.json == {"scopes": ["predict"], "name": "", "models": ["fraud-*"]}
    assert "models" not in calls.create_user("a", "pw", role="user", scopes=None).json
    assert calls.create_user("a", "pw", role="user", scopes=None, models=["iris"]).json["models"] == ["iris"]
