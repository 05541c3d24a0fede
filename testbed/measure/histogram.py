"""Distributions of measured values: percentiles from an HDR histogram, raw samples kept for plots.

Why HDR: percentiles of latency are the figures the suites assert on, and an HDR histogram
gives them with a bounded relative error (3 significant digits here) in constant memory and
time per sample, however long a campaign runs. The raw samples (with their times, when the
caller has them) are kept as well because the report draws CDFs and time series from them,
and while they are kept percentiles are exact (nearest rank, a value that was measured);
``keep_samples=False`` drops them for very long runs and the histogram answers alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
SIGNIFICANT_DIGITS = 3


def statistic_key(p: float) -> str:
    """50.0 -> "50", 99.9 -> "99.9": the key used in results files and measurement names."""
    return f"{p:g}"


@dataclass
class Distribution:
    """Values in ``unit`` with a resolution of ``resolution`` units (they are stored as integers).

    The trackable range is resolution .. resolution * 2**40 (about 12 days of milliseconds at
    1 µs resolution); a value outside it is an error naming it, not a silent clamp.
    """

    unit: str
    resolution: float = 0.001
    keep_samples: bool = True
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    _sum: float = 0.0
    _sum_sq: float = 0.0
    _count: int = 0
    _min: float = math.inf
    _max: float = -math.inf

    def __post_init__(self) -> None:
        if not self.resolution > 0:
            raise ValueError(f"resolution: expected a positive number, got {self.resolution!r}")
        self._hist = HdrHistogram(1, 2**40, SIGNIFICANT_DIGITS)
        self._sorted: list[float] | None = None

    def record(self, value: float, at: float | None = None) -> None:
        """One sample; ``at`` (seconds on any clock) places it on the time-series plot."""
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
            raise ValueError(f"expected a non-negative number of {self.unit}, got {value!r}")
        ticks = max(1, round(value / self.resolution))
        if not self._hist.record_value(ticks):
            raise ValueError(f"{value!r} {self.unit} is beyond the trackable range "
                             f"({self.resolution * 2**40:g} {self.unit})")
        self._count += 1
        self._sum += value
        self._sum_sq += value * value
        self._min = min(self._min, value)
        self._max = max(self._max, value)
        if self.keep_samples:
            self.values.append(value)
            if at is not None:
                self.times.append(at)

    def extend(self, values: Iterable[float], times: Iterable[float] | None = None) -> Distribution:
        if times is None:
            for v in values:
                self.record(v)
        else:
            values, times = list(values), list(times)
            if len(values) != len(times):
                raise ValueError(f"expected as many times as values, got {len(times)} times for {len(values)} values")
            for v, t in zip(values, times, strict=True):
                self.record(v, t)
        return self

    @property
    def count(self) -> int:
        return self._count

    def percentile(self, p: float) -> float:
        """The value at percentile ``p`` (0 < p <= 100), within 0.1 % (HDR's equivalent value)."""
        if not 0 < p <= 100:
            raise ValueError(f"percentile: expected 0 < p <= 100, got {p!r}")
        if not self._count:
            raise ValueError("percentile of an empty distribution")
        if p == 100:
            return self._max
        if self.keep_samples:  # exact nearest rank while the samples are at hand
            if self._sorted is None or len(self._sorted) != len(self.values):
                self._sorted = sorted(self.values)
            return self._sorted[max(1, math.ceil(p / 100 * len(self._sorted))) - 1]
        ticks = self._hist.get_value_at_percentile(p)
        # HDR reports the top of the value's bucket; its bottom is the value itself when it was recorded
        # exactly, and never off by more than the histogram's precision. Never past what was measured.
        return min(max(self._hist.get_lowest_equivalent_value(ticks) * self.resolution, self._min), self._max)

    def statistic(self, name: str) -> float:
        """"p99", "p50", "max", "min", "mean": the value a limit applies to."""
        if not self._count:
            raise ValueError(f"{name} of an empty distribution")
        if name in ("min", "max", "mean"):
            return {"min": self._min, "max": self._max, "mean": self._sum / self._count}[name]
        if name.startswith("p"):
            try:
                return self.percentile(float(name[1:]))
            except ValueError:
                pass
        raise ValueError(f"statistic: expected min, max, mean or pNN (e.g. p99, p99.9), got {name!r}")

    def summary(self) -> dict[str, Any]:
        if not self._count:
            return {"count": 0, "min": None, "max": None, "mean": None, "stdev": None, "percentiles": {}}
        mean = self._sum / self._count
        variance = max(0.0, self._sum_sq / self._count - mean * mean)
        return {"count": self._count, "min": self._min, "max": self._max, "mean": mean, "stdev": math.sqrt(variance),
                "percentiles": {statistic_key(p): self.percentile(p) for p in PERCENTILES}}
