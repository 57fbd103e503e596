"""Model-name patterns on keys and users: validation, matching, covering, the call's binding."""

from __future__ import annotations

import asyncio

import pytest

from modelport.errors import Forbidden, InvalidInput, ModelNotFound
from modelport.security import model_access as ma


def test_patterns_are_validated() -> None:
    assert ma.parse_patterns(None) is None
    assert ma.parse_patterns([]) == ()
    assert ma.parse_patterns(["fraud-*", "iris", "iris"]) == ("fraud-*", "iris")
    for bad in (["../x"], ["a b"], [""], ["x" * 129], ["a/b"]):
        with pytest.raises(InvalidInput):
            ma.parse_patterns(bad)
    with pytest.raises(InvalidInput, match="at most"):
        ma.parse_patterns([f"m{i}" for i in range(ma.MAX_PATTERNS + 1)])


def test_every_layer_must_match() -> None:
    assert ma.allows((), "anything")
    assert ma.allows((("fraud-*", "iris"),), "fraud-eu") and not ma.allows((("fraud-*",),), "iris")
    key_and_owner = (("fraud-*",), ("fraud-eu", "churn"))
    assert ma.allows(key_and_owner, "fraud-eu")
    assert not ma.allows(key_and_owner, "fraud-us") and not ma.allows(key_and_owner, "churn")
    assert not ma.allows(((),), "iris")  # an empty list allows nothing
    assert not ma.allows((("Iris",),), "iris")  # case-sensitive, as model names are


def test_covers_is_sound() -> None:
    limit = (("fraud-*", "iris"),)
    assert ma.covers((), None) and ma.covers((), ("x",))
    assert not ma.covers(limit, None)  # no list means every model
    assert ma.covers(limit, ("iris", "fraud-eu", "fraud-*"))
    assert not ma.covers(limit, ("fraud-?",))  # narrower in fact, but not provably so here
    assert not ma.covers(limit, ("*",)) and not ma.covers(limit, ("churn",))


async def test_the_binding_belongs_to_one_call() -> None:
    async def call(layers: ma.Layers, name: str) -> str:
        ma.bind(layers)
        await asyncio.sleep(0)
        try:
            ma.check_visible(name)
        except ModelNotFound:
            return "404"
        return "ok"

    results = await asyncio.gather(call((("iris",),), "bc"), call((), "bc"), call((("b*",),), "bc"))
    assert results == ["404", "ok", "ok"]
    assert ma.current() == ()  # tasks do not leak their binding into the caller
    ma.bind((("iris",),))
    with pytest.raises(Forbidden):
        ma.check_writable("bc")
    assert ma.visible(["bc", "iris"]) == ["iris"]
    ma.bind(())
