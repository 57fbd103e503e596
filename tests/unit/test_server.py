"""Server process tuning applied from settings (the speed itself is measured by `make bench`)."""

from __future__ import annotations

import sys
from typing import Any

from modelport.server import tune_gil


def test_gil_switch_interval_from_settings(make_settings: Any) -> None:
    before = sys.getswitchinterval()
    try:
        tune_gil(make_settings(gil_switch_interval_ms=0.5))
        assert abs(sys.getswitchinterval() - 0.0005) < 1e-9
    finally:
        sys.setswitchinterval(before)
