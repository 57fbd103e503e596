"""Generation parameters and stop sequences (no torch needed)."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidInput
from modelport.runtime.generation import GenerationParams, StopFilter, parse_messages


def run(stops: tuple[str, ...], pieces: list[str]) -> tuple[str, bool]:
    f = StopFilter(stops)
    out = "".join(f.feed(p) for p in pieces) + f.flush()
    return out, f.hit


def test_stop_sequences_across_pieces() -> None:
    assert run(("END",), ["hello E", "N", "D and more"]) == ("hello ", True)
    assert run(("END",), ["hello E", "NX"]) == ("hello ENX", False)
    assert run(("\n\n", "###"), ["a\n", "b#", "##c"]) == ("a\nb", True)
    assert run((), ["a", "b"]) == ("ab", False)
    # text that may start a stop sequence is held back, never emitted early
    f = StopFilter(("stop",))
    assert f.feed("go st") == "go "
    assert f.feed("op") == "" and f.hit


def test_parameters_are_validated() -> None:
    p = GenerationParams.parse({"max_tokens": 5, "temperature": 0, "stop": "x", "seed": 3})
    assert p.greedy and p.stop == ("x",) and p.max_tokens == 5
    for bad in ({"max_tokens": 0}, {"max_tokens": 10**6}, {"temperature": 3}, {"top_p": 0},
                {"stop": [""]}, {"stop": ["a"] * 5}, {"seed": "x"}, {"temperature": float("nan")}):
        with pytest.raises(InvalidInput):
            GenerationParams.parse(bad)


def test_messages() -> None:
    assert parse_messages("hi") == [{"role": "user", "content": "hi"}]
    assert parse_messages('[{"role": "system", "content": "s"}]') == [{"role": "system", "content": "s"}]
    with pytest.raises(InvalidInput):
        parse_messages('[{"role": "wizard", "content": "s"}]')
