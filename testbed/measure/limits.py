"""Limits on a measured value, OpenHTF style: a pass range and an optional marginal band inside it.

Why a marginal band: a figure that passes by a hair today fails on the next rig; the report
flags it amber so an engineer looks before it turns red. A value outside [low, high] fails;
inside, but beyond ``marginal_low``/``marginal_high``, it is marginal; otherwise it passes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"
    FAIL = "fail"
    UNSET = "unset"  # no value, or a value with no limits to judge it by


@dataclass(frozen=True)
class Limits:
    low: float | None = None
    high: float | None = None
    marginal_low: float | None = None
    marginal_high: float | None = None

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or math.isnan(value)):
                raise ValueError(f"limits.{name}: expected a number or None, got {value!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"limits: expected low <= high, got low={self.low!r} high={self.high!r}")
        for name, value in (("marginal_low", self.marginal_low), ("marginal_high", self.marginal_high)):
            if value is None:
                continue
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ValueError(f"limits.{name}: expected a value inside [low, high] = "
                                 f"[{self.low}, {self.high}], got {value!r}")
        if self.marginal_low is not None and self.marginal_high is not None and self.marginal_low > self.marginal_high:
            raise ValueError(f"limits: expected marginal_low <= marginal_high, got {self.marginal_low!r} > "
                             f"{self.marginal_high!r}")

    @property
    def empty(self) -> bool:
        return all(v is None for v in asdict(self).values())

    def judge(self, value: float | None) -> Outcome:
        if value is None or self.empty:
            return Outcome.UNSET
        if math.isnan(value):
            return Outcome.FAIL
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return Outcome.FAIL
        if (self.marginal_low is not None and value < self.marginal_low) or \
                (self.marginal_high is not None and value > self.marginal_high):
            return Outcome.MARGINAL
        return Outcome.PASS

    def describe(self, unit: str = "") -> str:
        """``≤ 50 ms (marginal > 40)``, ``10–20 %``, ``≥ 1``: how the report and messages show limits."""
        u = f" {unit}" if unit else ""
        if self.low is not None and self.high is not None:
            text = f"{self.low:g}–{self.high:g}{u}" if self.low != self.high else f"= {self.low:g}{u}"
        elif self.high is not None:
            text = f"≤ {self.high:g}{u}"
        elif self.low is not None:
            text = f"≥ {self.low:g}{u}"
        else:
            text = "no limit"
        marginal = [f"< {self.marginal_low:g}"] if self.marginal_low is not None else []
        marginal += [f"> {self.marginal_high:g}"] if self.marginal_high is not None else []
        return text + (f" (marginal {' or '.join(marginal)})" if marginal else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
