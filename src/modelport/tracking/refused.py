"""A request refused by the rate limit (429) still counts in usage per key: one log row each.

The row has no model (``model`` is empty: the gate refuses before a model is resolved), no
rows and ``error_code = "rate_limited"``; usage per key counts these as ``refused``.
"""

from __future__ import annotations

from modelport.observability.context import current_request_id, new_request_id
from modelport.tracking.records import PredictionRecord, now

REFUSED = "rate_limited"


def refused_record(principal: str, protocol: str = "gate") -> PredictionRecord:
    return PredictionRecord(
        request_id=current_request_id() or new_request_id(), ts=now(), model="", version=None, alias=None,
        principal=principal, protocol=protocol, error_code=REFUSED, rows=0, latency_ms=0.0, cached=False,
        inputs=None, outputs=None, capture="none", capture_max_bytes=0,
    )
