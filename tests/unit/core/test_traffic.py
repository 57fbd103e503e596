"""The arm choice: weighted random split, weighted rendezvous stickiness, shadow sampling, policy checks."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pydantic import ValidationError

from modelport.core.traffic import AliasUpdate, TrafficPolicy, pick, shadow_sampled, sticky_key


def policy(*weights: tuple[int, float], **extra: object) -> TrafficPolicy:
    routes = [{"version": v, "weight": w} for v, w in weights]
    return TrafficPolicy.model_validate({"routes": routes, **extra})


def test_random_split_follows_the_weights() -> None:
    rand = random.Random(7)
    p = policy((3, 70), (4, 20), (5, 10))
    counts = Counter(pick(p, None, rand) for _ in range(20_000))
    for version, weight in ((3, 0.7), (4, 0.2), (5, 0.1)):
        assert abs(counts[version] / 20_000 - weight) < 0.015


def test_sticky_choice_is_stable_and_weighted() -> None:
    p = policy((1, 75), (2, 25))
    first = {f"u{i}": pick(p, f"u{i}") for i in range(8000)}
    assert all(pick(p, k) == v for k, v in first.items())  # same caller, same arm, every time
    assert abs(sum(v == 2 for v in first.values()) / 8000 - 0.25) < 0.02
    # the order routes are listed in does not matter
    assert all(pick(policy((2, 25), (1, 75)), k) == v for k, v in list(first.items())[:500])


@pytest.mark.parametrize(("old", "new", "expected"), [((90, 10), (80, 20), 0.10), ((50, 50), (40, 60), 0.10),
                                                      ((90, 10), (100, 1e-9), 0.10)])
def test_weight_change_moves_only_the_callers_it_must(old: tuple[float, float], new: tuple[float, float],
                                                     expected: float) -> None:
    before, after = policy((1, old[0]), (2, old[1])), policy((1, new[0]), (2, new[1]))
    keys = [f"caller-{i}" for i in range(20_000)]
    moved = sum(pick(before, k) != pick(after, k) for k in keys) / len(keys)
    assert abs(moved - expected) < 0.01


def test_adding_a_third_arm_takes_callers_from_both_in_proportion() -> None:
    before, after = policy((1, 90), (2, 10)), policy((1, 81), (2, 9), (3, 10))
    keys = [f"k{i}" for i in range(20_000)]
    changes = Counter((pick(before, k), pick(after, k)) for k in keys)
    assert all(new == 3 for (old, new), n in changes.items() if old != new)
    assert abs(sum(n for (o, nw), n in changes.items() if o != nw) / len(keys) - 0.10) < 0.01


def test_shadow_sampling_fraction() -> None:
    rand = random.Random(3)
    p = policy((1, 1), shadow={"version": 9, "fraction": 0.25})
    hits = sum(shadow_sampled(p, rand) == 9 for _ in range(10_000))
    assert abs(hits / 10_000 - 0.25) < 0.02
    assert shadow_sampled(policy((1, 1), shadow={"version": 9, "fraction": 1.0})) == 9
    assert shadow_sampled(policy((1, 1))) is None


def test_sticky_keys() -> None:
    headers = [(b"content-type", b"x"), (b"x-user-id", b"alice")]
    assert sticky_key(policy((1, 1), sticky="header:X-User-Id"), "p", headers) == "alice"
    assert sticky_key(policy((1, 1), sticky="header:X-Other"), "p", headers) is None
    assert sticky_key(policy((1, 1), sticky="principal"), "key:1", headers) == "key:1"
    assert sticky_key(policy((1, 1)), "key:1", headers) is None


def test_primary_arm_and_plainness() -> None:
    p = policy((4, 10), (3, 90))
    assert p.primary == 3 and p.arm(3) == "primary" and p.arm(4) == "canary"
    assert policy((2, 50), (5, 50)).primary == 2  # a tie: the first listed
    assert TrafficPolicy.single(3).plain and not policy((3, 1), shadow={"version": 4, "fraction": 0.1}).plain
    assert AliasUpdate(version=3).policy() == TrafficPolicy.single(3)


@pytest.mark.parametrize("body", [
    {}, {"version": 1, "routes": [{"version": 1, "weight": 1}]}, {"routes": []},
    {"routes": [{"version": 1, "weight": -1}]},
    {"routes": [{"version": 1, "weight": 1}], "sticky": "header:"},
    {"routes": [{"version": 1, "weight": 1}], "sticky": "header:a b"}, {"version": 1, "extra": 1},
])
def test_bad_updates(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AliasUpdate.model_validate(body)
