"""Figures as SVG text for inline embedding: stable bytes, bounded size, no global pyplot state.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot, no GUI backend). A fixed
hash salt makes clip-path ids the same on every run, and every id gets the figure's key as a
prefix, because the inline SVGs of one page share its id space (``figure_1`` and friends repeat).
Long series are thinned before plotting, keeping every extreme, so a 10,000-point series does
not cost 10,000 path vertices.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .load import Distribution

MAX_POINTS = 2000
# where matplotlib's SVG names an id or refers to one; prefixed per figure, as inline SVGs share the page's ids
_REFERENCE = re.compile(r'(\bid="|url\(#|href="#)')
_STACK_COLOURS = {"upload": "#4e79a7", "queue": "#f28e2b", "compute": "#59a14f", "download": "#76b7b2"}


def plain(text: str) -> str:
    """User text for matplotlib: a ``$`` would otherwise start mathtext (and may fail to parse)."""
    return text.replace("$", r"\$")


def to_svg(fig: Figure, key: str) -> str:
    """The figure as an ``<svg>`` element, identical bytes for identical input and ``key``."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "testbed-report", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return _REFERENCE.sub(lambda m: f"{m.group(1)}{key}-", text[text.index("<svg"):])


def _figure(height: float = 3.4) -> Figure:
    return Figure(figsize=(7.5, height), layout="constrained")


def cdf_points(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF: sorted finite values and the fraction of samples at or below each."""
    xs = np.sort(np.asarray(values, dtype=float))
    xs = xs[np.isfinite(xs)]
    ys = np.arange(1, len(xs) + 1) / max(len(xs), 1)
    if len(xs) > MAX_POINTS:
        keep = np.unique(np.linspace(0, len(xs) - 1, MAX_POINTS).round().astype(int))
        xs, ys = xs[keep], ys[keep]
    return xs, ys


def percentile_points(dist: Distribution) -> tuple[np.ndarray, np.ndarray]:
    """A CDF through min, the stored percentiles and max, for distributions without a series."""
    pairs = sorted((float(q) / 100, v) for q, v in dist.percentiles.items())
    ys = [0.0] + [q for q, _ in pairs] + [1.0]
    xs = [dist.min] + [v for _, v in pairs] + [dist.max]
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def thin(t: Sequence[float], v: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Finite points only, at most about MAX_POINTS, keeping the minimum and maximum of every bucket."""
    ta, va = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
    finite = np.isfinite(ta) & np.isfinite(va)
    ta, va = ta[finite], va[finite]
    if len(va) <= MAX_POINTS:
        return ta, va
    buckets = np.array_split(np.arange(len(va)), MAX_POINTS // 2)
    keep = sorted({int(b[np.argmin(va[b])]) for b in buckets} | {int(b[np.argmax(va[b])]) for b in buckets})
    return ta[keep], va[keep]


@dataclass(frozen=True)
class Curve:
    label: str
    x: np.ndarray
    y: np.ndarray
    step: bool = False  # drawn as steps: a CDF known only at its percentiles


def _centre(ax: Axes, count: int) -> None:
    """Keep one or two groups of bars from stretching across the whole axis."""
    pad = max(0.6, (3 - count) / 2)
    ax.set_xlim(-pad, count - 1 + pad)


def _legend(ax: Axes, count: int) -> None:
    if count:
        # outside the axes: "best" would test every vertex of every curve for overlap, which is slow
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def cdf_plot(curves: list[Curve], unit: str, title: str, key: str) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    for i, c in enumerate(curves):
        ax.plot(c.x, c.y, drawstyle="steps-post" if c.step else "default", label=plain(c.label),
                linestyle="--" if c.step else "-", gid=f"curve-{i}")
    ax.set(xlabel=plain(unit), ylabel="fraction of samples ≤ x", ylim=(0, 1.02), title=plain(title))
    ax.grid(alpha=0.3)
    _legend(ax, len(curves))
    return to_svg(fig, key)


def timeseries_plot(curves: list[Curve], unit: str, title: str, key: str) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    for i, c in enumerate(curves):
        ax.plot(c.x, c.y, linewidth=0.8, label=plain(c.label), gid=f"curve-{i}")
    ax.set(xlabel="time since first sample (s)", ylabel=plain(unit), title=plain(title))
    ax.grid(alpha=0.3)
    _legend(ax, len(curves))
    return to_svg(fig, key)


def grouped_bars(groups: list[str], bars: dict[str, list[float]], unit: str, title: str, key: str) -> str:
    """Horizontal bars side by side per group (configured vs measured per link direction), so labels stay legible."""
    fig = _figure(height=min(1.2 + 0.22 * len(groups) * max(len(bars), 1), 40))
    ax = fig.add_subplot()
    y = np.arange(len(groups))
    height = 0.8 / max(len(bars), 1)
    for i, (name, values) in enumerate(bars.items()):
        ax.barh(y + (i - (len(bars) - 1) / 2) * height, values, height, label=plain(name))
    ax.set_yticks(y, [plain(g) for g in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=plain(unit), title=plain(title))
    ax.grid(axis="x", alpha=0.3)
    _legend(ax, len(bars))
    return to_svg(fig, key)


def bar_panels(panels: list[tuple[str, list[str], list[float]]], title: str, key: str) -> str:
    """Horizontal bars, one panel per unit, since throughput and counts share no axis."""
    rows = sum(len(names) for _, names, _ in panels)
    fig = _figure(height=min(1.0 + 0.28 * rows + 0.5 * len(panels), 40))
    axes = fig.subplots(len(panels), 1, squeeze=False,
                        gridspec_kw={"height_ratios": [max(len(n), 1) for _, n, _ in panels]})
    for ax, (unit, names, values) in zip(axes[:, 0], panels, strict=True):
        y = np.arange(len(names))
        ax.barh(y, values, color="#4e79a7")
        ax.set_yticks(y, [plain(n) for n in names], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(plain(unit))
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(plain(title))
    return to_svg(fig, key)


def offload_plot(loads: list[float], measured: dict[str, list[float]], predicted: dict[str, list[float]],
                 local: list[float | None], unit: str, title: str, key: str) -> str:
    """Per load a measured stack and, beside it, the predicted stack; local execution as a line."""
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(loads))
    has_predicted = any(any(v) for v in predicted.values())
    width = 0.38 if has_predicted else 0.6
    offset = width / 2 + 0.01 if has_predicted else 0.0
    for stack, shift, hatch, suffix in ((measured, -offset, "", "measured"), (predicted, offset, "//", "predicted")):
        if stack is predicted and not has_predicted:
            continue
        bottom = np.zeros(len(loads))
        for term, values in stack.items():
            ax.bar(x + shift, values, width, bottom=bottom, color=_STACK_COLOURS[term], hatch=hatch,
                   edgecolor="white" if not hatch else "#333333", linewidth=0.5, label=f"{term} ({suffix})")
            bottom += np.asarray(values)
    if any(v is not None for v in local):
        ax.plot(x, [np.nan if v is None else v for v in local], color="#c62828", marker="D", label="local")
    ax.set_xticks(x, [f"{load:g}" for load in loads])
    _centre(ax, len(loads))
    ax.set(xlabel="load", ylabel=plain(unit), title=plain(title))
    ax.grid(axis="y", alpha=0.3)
    _legend(ax, len(ax.get_legend_handles_labels()[0]))
    return to_svg(fig, key)
