from __future__ import annotations

import math
import random

import pytest

from testbed.measure import Distribution


def exact(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@pytest.fixture
def samples() -> list[float]:
    rng = random.Random(5)
    return [rng.lognormvariate(3, 0.6) for _ in range(20_000)]


def test_percentiles_are_exact_nearest_rank_while_samples_are_kept(samples: list[float]) -> None:
    d = Distribution("ms").extend(samples)
    for p in (50, 90, 99, 99.9):
        assert d.percentile(p) == exact(samples, p)
    assert d.percentile(100) == max(samples)
    s = d.summary()
    assert s["count"] == len(samples) and s["min"] == min(samples) and s["max"] == max(samples)
    assert s["mean"] == pytest.approx(sum(samples) / len(samples))
    assert set(s["percentiles"]) == {"50", "90", "95", "99", "99.9"}


def test_without_samples_the_hdr_histogram_answers_within_its_precision(samples: list[float]) -> None:
    d = Distribution("ms", keep_samples=False).extend(samples)
    assert d.values == []
    for p in (50, 90, 99, 99.9):
        assert d.percentile(p) == pytest.approx(exact(samples, p), rel=2e-3)


def test_statistics_by_name() -> None:
    d = Distribution("ms").extend([1, 2, 3, 4, 100])
    assert d.statistic("p50") == 3 and d.statistic("max") == 100 and d.statistic("min") == 1
    assert d.statistic("mean") == 22
    with pytest.raises(ValueError, match="expected min, max, mean or pNN"):
        d.statistic("median")


@pytest.mark.parametrize("bad", [-1, math.nan, "3", True])
def test_bad_samples_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a non-negative number of ms"):
        Distribution("ms").record(bad)  # type: ignore[arg-type]


def test_times_must_pair_with_values() -> None:
    with pytest.raises(ValueError, match="as many times as values"):
        Distribution("ms").extend([1, 2], [0.0])


def test_a_value_beyond_the_trackable_range_is_an_error_not_a_clamp() -> None:
    with pytest.raises(ValueError, match="beyond the trackable range"):
        Distribution("ms", resolution=1.0).record(2.0**41)


def test_an_empty_distribution_has_no_percentile() -> None:
    with pytest.raises(ValueError, match="empty"):
        Distribution("ms").percentile(50)
