"""Named measurements with units and limits, recorded by a test and judged as they are recorded.

    def test_uplink(measurements):
        measurements.record("goodput.ecg1", 9.4, "Mbit/s", low=8, marginal_low=9, section="link")
        measurements.distribution("latency.ecg1", samples_ms, "ms", statistic="p99", high=50,
                                  marginal_high=40, section="latency", device="ecg1")

Nothing raises while a test records: every figure is kept, and the plugin fails the test
after its body returns, quoting each figure that broke its limit (so one run shows all of
them, not just the first). Labels are free-form; ``section`` tells the report where a
measurement belongs (latency, link, ledger, integrity, offload).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .histogram import Distribution
from .limits import Limits, Outcome

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-\[\]]*$")
Label = str | int | float | bool


@dataclass
class Measurement:
    name: str
    unit: str
    value: float | None
    limits: Limits
    labels: dict[str, Label] = field(default_factory=dict)
    description: str = ""
    statistic: str | None = None  # which statistic of the distribution the limits judge
    distribution: Distribution | None = None

    @property
    def outcome(self) -> Outcome:
        return self.limits.judge(self.value)

    def verdict(self) -> str:
        """``latency.ecg1 p99 = 53.2 ms, expected ≤ 50 ms (marginal > 40)``: the failure message."""
        what = f"{self.name} {self.statistic}" if self.statistic else self.name
        value = "no value" if self.value is None else f"{self.value:.4g} {self.unit}".rstrip()
        return f"{what} = {value}, expected {self.limits.describe(self.unit)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "unit": self.unit, "outcome": self.outcome.value, "value": self.value,
            "statistic": self.statistic, "limits": None if self.limits.empty else self.limits.as_dict(),
            "labels": dict(self.labels), "description": self.description,
            "distribution": self.distribution.summary() if self.distribution is not None else None,
        }


class Recorder:
    """The measurements of one test, with labels every measurement carries (topology, profile)."""

    def __init__(self, defaults: Mapping[str, Label] | None = None) -> None:
        self.defaults: dict[str, Label] = dict(defaults or {})
        self.measurements: list[Measurement] = []

    def record(self, name: str, value: float | None, unit: str = "", *, low: float | None = None,
               high: float | None = None, marginal_low: float | None = None, marginal_high: float | None = None,
               limits: Limits | None = None, description: str = "", **labels: Label) -> Measurement:
        """A scalar figure; limits either as keywords or as a :class:`Limits`."""
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TypeError(f"measurement {name}: expected a number, got {value!r}")
        limits = self._limits(name, limits, low, high, marginal_low, marginal_high)
        return self._add(Measurement(self._name(name), unit, None if value is None else float(value), limits,
                                     self._labels(labels), description))

    def check(self, name: str, holds: bool, *, description: str = "", **labels: Label) -> Measurement:
        """A verdict (unit "bool", 1 = holds): fails the test when it does not hold."""
        return self._add(Measurement(self._name(name), "bool", 1.0 if holds else 0.0, Limits(low=1),
                                     self._labels(labels), description))

    def distribution(self, name: str, values: Iterable[float] | Distribution, unit: str = "", *,
                     times: Iterable[float] | None = None, statistic: str = "p50", low: float | None = None,
                     high: float | None = None, marginal_low: float | None = None,
                     marginal_high: float | None = None, limits: Limits | None = None, description: str = "",
                     resolution: float = 0.001, **labels: Label) -> Measurement:
        """Many samples of one figure; the limits judge ``statistic`` (p50, p99, p99.9, max, mean...)."""
        dist = values if isinstance(values, Distribution) else Distribution(unit, resolution).extend(values, times)
        limits = self._limits(name, limits, low, high, marginal_low, marginal_high)
        value = dist.statistic(statistic) if dist.count else None
        return self._add(Measurement(self._name(name), unit or dist.unit, value, limits, self._labels(labels),
                                     description, statistic, dist))

    # --- judgement --------------------------------------------------------------------------

    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if m.outcome is Outcome.FAIL]

    def marginal(self) -> list[Measurement]:
        return [m for m in self.measurements if m.outcome is Outcome.MARGINAL]

    def __getitem__(self, name: str) -> Measurement:
        for m in reversed(self.measurements):
            if m.name == name:
                return m
        raise KeyError(f"no measurement named {name!r}; recorded: {', '.join(m.name for m in self.measurements)}")

    def __len__(self) -> int:
        return len(self.measurements)

    # --- internals --------------------------------------------------------------------------

    def _add(self, measurement: Measurement) -> Measurement:
        if measurement.value is not None and math.isinf(measurement.value):
            raise ValueError(f"measurement {measurement.name}: expected a finite value, got {measurement.value}")
        self.measurements.append(measurement)
        return measurement

    @staticmethod
    def _name(name: str) -> str:
        if not NAME.match(name):
            raise ValueError(f"measurement name: expected letters, digits and . _ - : [ ] (starting with a "
                             f"letter), got {name!r}")
        return name

    @staticmethod
    def _limits(name: str, limits: Limits | None, *bounds: float | None) -> Limits:
        if limits is not None:
            if any(b is not None for b in bounds):
                raise ValueError(f"measurement {name}: give limits either as Limits(...) or as keywords, not both")
            return limits
        try:
            return Limits(*bounds)
        except ValueError as exc:
            raise ValueError(f"measurement {name}: {exc}") from None

    def _labels(self, labels: Mapping[str, Label]) -> dict[str, Label]:
        merged = {**self.defaults, **labels}
        for key, value in merged.items():
            if not isinstance(value, str | int | float | bool):
                raise TypeError(f"label {key}: expected a string or number, got {value!r}")
        return merged
