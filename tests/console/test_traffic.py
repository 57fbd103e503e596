"""The traffic form's body (the traffic API's documented shape) and policy summaries."""

from __future__ import annotations

from modelport.console.traffic import describe, policy_body, summary


def test_a_90_10_split_with_stickiness_and_a_shadow() -> None:
    body = policy_body("1", "90", "2", "10", "principal", "", "3", "50")
    assert body == {"routes": [{"version": 1, "weight": 90.0}, {"version": 2, "weight": 10.0}],
                    "sticky": "principal", "shadow": {"version": 3, "fraction": 0.5}}
    assert describe(body) == "v1 90% / v2 10%, sticky principal, shadow v3 (50%)"


def test_a_header_wins_over_principal_and_zero_weights_are_left_out() -> None:
    body = policy_body("1", "100", "2", "0", "principal", "x-user-id", "", "100")
    assert body == {"routes": [{"version": 1, "weight": 100.0}], "sticky": "header:x-user-id"}
    assert describe(body) == "v1 100%, sticky header:x-user-id"
    assert describe({"routes": [{"version": 4, "weight": 1}]}) is None  # a plain alias
    assert describe(None) is None and describe({"routes": "x"}) is None


def test_bad_forms_say_why() -> None:
    assert policy_body("", "90", "", "10", "", "", "", "") == "give at least one version a weight above 0"
    assert policy_body("x", "90", "", "", "", "", "", "") == "choose a version number"
    assert policy_body("1", "ninety", "", "", "", "", "", "") == "weights are numbers (percentages)"
    assert policy_body("1", "90", "", "", "", "", "v2", "") == "choose a shadow version"
    assert policy_body("1", "90", "", "", "", "", "2", "half") == "the shadow share is a percentage"


def test_a_history_entry_says_where_the_alias_went() -> None:
    split = {"routes": [{"version": 1, "weight": 90}, {"version": 2, "weight": 10}], "sticky": None}
    assert summary(split) == "v1 90% / v2 10%"
    assert summary({"routes": [{"version": 3, "weight": 100}], "shadow": None}) == "v3"
    assert summary(None) == "removed"  # a delete
