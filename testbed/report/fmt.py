"""How numbers, limits and outcomes read on the page: one place, so every table agrees."""

from __future__ import annotations

import math

from .load import Limits

OUTCOME_COLOURS = {
    "pass": "#1a7f37", "marginal": "#b7791f", "fail": "#c62828", "unset": "#6b7280",
    "passed": "#1a7f37", "failed": "#c62828", "error": "#8e24aa", "skipped": "#6b7280",
}


def num(value: float | None) -> str:
    """Six significant digits: enough for any instrument here, short enough for a table."""
    if value is None:
        return "—"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def limits_text(limits: Limits | None, unit: str) -> str:
    """E.g. ``≤ 50 ms (marginal > 40)``: the hard limits, then where the marginal band starts."""
    if limits is None:
        return "—"
    hard = [f"{sign} {num(v)}" for sign, v in (("≥", limits.low), ("≤", limits.high)) if v is not None]
    marginal = [f"{sign} {num(v)}" for sign, v in (("<", limits.marginal_low), (">", limits.marginal_high))
                if v is not None]
    parts = []
    if hard:
        parts.append(" and ".join(hard) + ("" if unit in ("", "bool") else f" {unit}"))
    if marginal:
        parts.append(f"(marginal {' or '.join(marginal)})")
    return " ".join(parts) or "—"


def relative_error(measured: float | None, predicted: float | None) -> float | None:
    """(measured − predicted) / predicted; None where there is nothing to compare against."""
    if measured is None or predicted is None or predicted == 0:
        return None
    return (measured - predicted) / predicted


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:+.1f} %"
