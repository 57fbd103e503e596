"""Input validation: the one-input shortcut answers exactly what the full checks answer."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from modelport.core.validation import _validate_each, validate_inputs
from modelport.errors import InvalidInput
from modelport.registry.manifest import Signature, TensorSpec

SIGNATURES = {
    "rows x 4": Signature(inputs=[TensorSpec(name="input", dtype="float64", shape=[-1, 4])]),
    "float32 rows x free": Signature(inputs=[TensorSpec(name="x", dtype="float32", shape=[-1, -1])]),
    "fixed 2 rows": Signature(inputs=[TensorSpec(name="input", dtype="float64", shape=[2, 4])]),
    "int 1-D": Signature(inputs=[TensorSpec(name="ids", dtype="int64", shape=[-1])]),
    "3-D": Signature(inputs=[TensorSpec(name="img", dtype="float64", shape=[-1, 2, 3])]),
    "two inputs": Signature(inputs=[TensorSpec(name="a", shape=[-1, 2]), TensorSpec(name="b", shape=[-1])]),
}
NAN = np.ones((1, 4))
NAN[0, 2] = np.nan
INPUTS: dict[str, dict[str, Any]] = {
    "one row": {"input": np.ones((1, 4))},
    "three rows": {"input": np.arange(12.0).reshape(3, 4)},
    "two rows": {"input": np.ones((2, 4))},
    "wrong width": {"input": np.ones((1, 3))},
    "1-D": {"input": np.ones(4)},
    "no rows": {"input": np.ones((0, 4))},
    "too many rows": {"input": np.ones((11, 4))},
    "NaN": {"input": NAN},
    "ints": {"input": np.ones((1, 4), dtype=np.int64)},
    "halves for ints": {"ids": np.array([1.5, 2.0])},
    "whole floats for ints": {"ids": np.array([1.0, 2.0])},
    "x float64": {"x": np.ones((2, 5))},
    "image": {"img": np.ones((1, 2, 3))},
    "image of a wrong shape": {"img": np.ones((1, 3, 2))},
    "strings": {"input": np.array([["a", "b", "c", "d"]])},
    "unknown name": {"other": np.ones((1, 4))},
    "both": {"a": np.ones((2, 2)), "b": np.ones(2)},
    "ragged pair": {"a": np.ones((2, 2)), "b": np.ones(3)},
    "nothing": {},
}


def outcome(fn: Any, signature: Signature, inputs: dict[str, Any]) -> Any:
    try:
        out = fn(signature, inputs, 10)
    except InvalidInput as exc:
        return ("refused", str(exc))
    return {name: (arr.dtype.str, arr.shape, arr.tolist()) for name, arr in out.items()}


@pytest.mark.parametrize("signature", list(SIGNATURES))
def test_the_shortcut_answers_what_the_full_checks_answer(signature: str) -> None:
    sig = SIGNATURES[signature]
    accepted = 0
    for inputs in INPUTS.values():
        expected = outcome(_validate_each, sig, inputs)
        assert outcome(validate_inputs, sig, inputs) == expected
        accepted += not isinstance(expected, tuple)
    assert accepted  # each signature accepts some of the inputs


def test_refusals_name_the_problem() -> None:
    sig = SIGNATURES["rows x 4"]
    for inputs, message in [(INPUTS["wrong width"], "has shape [1, 3]; expected [N, 4]"),
                            (INPUTS["NaN"], "contains NaN or infinity"),
                            (INPUTS["too many rows"], "has 11 rows; the maximum is 10"),
                            (INPUTS["unknown name"], "unknown input(s) 'other'")]:
        with pytest.raises(InvalidInput, match=re.escape(message)):
            validate_inputs(sig, inputs, 10)
