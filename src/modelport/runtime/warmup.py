"""Zero-filled inputs matching a signature, for warm-up calls."""

from __future__ import annotations

import numpy as np

from modelport.core.types import TensorDict
from modelport.registry.manifest import Signature


def zero_inputs(signature: Signature, rows: int = 1) -> TensorDict:
    out: TensorDict = {}
    for spec in signature.inputs:
        shape = [rows if i == 0 else (d if d > 0 else 1) for i, d in enumerate(spec.shape)]
        if spec.dtype in ("bytes", "str"):
            out[spec.name] = np.full(shape, "", dtype=object)
        else:
            out[spec.name] = np.zeros(shape, dtype=spec.dtype)
    return out
