"""One logged request as the API shows it: every stored column, the traffic arm and token counts too."""

from __future__ import annotations

from datetime import UTC, datetime

from modelport.tracking.query import to_item
from modelport.tracking.tables import PredictionRow


def test_an_item_carries_the_arm_and_the_token_counts() -> None:
    row = PredictionRow(request_id="r1", ts=datetime(2026, 12, 6, tzinfo=UTC), model="chat", version=2,
                        alias="production", principal="key:k", protocol="openai", status="ok",
                        error_code=None, rows=1, latency_ms=3.5, cached=False, inputs=None,
                        inputs_hash=None, inputs_truncated=False, outputs='{"text": ["hi"]}', trace_id=None,
                        arm="canary", prompt_tokens=7, completion_tokens=3, finish_reason="stop")
    item = to_item(row)
    assert (item["arm"], item["prompt_tokens"], item["completion_tokens"], item["finish_reason"]) == (
        "canary", 7, 3, "stop")
    assert item["outputs"] == {"text": ["hi"]} and item["feedback"] is None
    assert item["time"].tzinfo is not None
