from __future__ import annotations

import math

import pytest

from testbed.measure import Limits, Outcome


@pytest.mark.parametrize(("value", "outcome"), [
    (5.0, Outcome.PASS), (40.0, Outcome.PASS), (40.5, Outcome.MARGINAL), (50.0, Outcome.MARGINAL),
    (50.01, Outcome.FAIL), (0.5, Outcome.MARGINAL), (-1, Outcome.FAIL), (math.nan, Outcome.FAIL), (None, Outcome.UNSET),
])
def test_a_value_is_judged_against_the_range_and_the_marginal_band(value: float | None, outcome: Outcome) -> None:
    limits = Limits(low=0, high=50, marginal_low=1, marginal_high=40)
    assert limits.judge(value) is outcome


def test_no_limits_judge_nothing() -> None:
    assert Limits().judge(3.0) is Outcome.UNSET
    assert Limits().empty


@pytest.mark.parametrize(("limits", "text"), [
    (Limits(high=50, marginal_high=40), "≤ 50 ms (marginal > 40)"),
    (Limits(low=1), "≥ 1 ms"),
    (Limits(low=10, high=20), "10–20 ms"),
    (Limits(low=1, high=1), "= 1 ms"),
    (Limits(low=0, high=9, marginal_low=1, marginal_high=8), "0–9 ms (marginal < 1 or > 8)"),
])
def test_limits_read_the_way_engineers_write_them(limits: Limits, text: str) -> None:
    assert limits.describe("ms") == text


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"low": 5, "high": 1}, "low <= high"),
    ({"high": 10, "marginal_high": 11}, "marginal_high: expected a value inside"),
    ({"low": 0, "marginal_low": -1}, "marginal_low: expected a value inside"),
    ({"marginal_low": 5, "marginal_high": 4}, "marginal_low <= marginal_high"),
    ({"high": "50"}, "limits.high: expected a number"),
    ({"low": True}, "limits.low: expected a number"),
])
def test_inconsistent_limits_are_refused_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Limits(**kwargs)
