"""Which section each measurement belongs to, and the derived numbers those sections show.

A measurement goes to a special section only when it has the shape that section draws (a
latency distribution with device and profile labels, a link scalar with a numeric
``configured``...); anything else lands in the generic table, so nothing is ever dropped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from .fmt import relative_error
from .load import Measurement, Results, TestRecord

SECTIONS = ("latency", "link", "ledger", "integrity", "offload")
OFFLOAD_STACK = ("upload", "queue", "compute", "download")
OFFLOAD_TERMS = (*OFFLOAD_STACK, "total", "local")


@dataclass(frozen=True)
class Item:
    """One measurement with the test that took it."""

    test: TestRecord
    m: Measurement


@dataclass
class Grouped:
    sections: dict[str, list[Item]] = field(default_factory=lambda: {name: [] for name in SECTIONS})
    other: list[Item] = field(default_factory=list)


def section_of(m: Measurement) -> str | None:
    """The special section that can draw ``m``, or None for the generic table."""
    section, labels, scalar = m.labels.get("section"), m.labels, m.distribution is None
    fits = {
        "latency": not scalar and "device" in labels and "profile" in labels,
        "link": scalar and m.value is not None and "link" in labels and "direction" in labels
        and m.number_label("configured") is not None,
        "ledger": scalar,
        "integrity": scalar and m.unit == "bool",
        "offload": scalar and m.value is not None and "profile" in labels and m.number_label("load") is not None
        and labels.get("term") in OFFLOAD_TERMS,
    }
    return section if isinstance(section, str) and fits.get(section) else None


def group(results: Results) -> Grouped:
    grouped = Grouped()
    for test in results.tests:
        for m in test.measurements:
            section = section_of(m)
            (grouped.sections[section] if section else grouped.other).append(Item(test, m))
    return grouped


def by_label(items: list[Item], key: str) -> dict[str, list[Item]]:
    """Items split by one label's value, in first-seen order."""
    out: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        out[str(item.m.labels[key])].append(item)
    return dict(out)


@dataclass(frozen=True)
class LinkRow:
    item: Item
    link: str
    direction: str
    configured: float
    measured: float

    @property
    def difference(self) -> float:
        return self.measured - self.configured


def link_rows(items: list[Item]) -> list[LinkRow]:
    rows = []
    for item in items:
        configured, measured = item.m.number_label("configured"), item.m.value
        assert configured is not None and measured is not None  # section_of checked both
        rows.append(LinkRow(item, str(item.m.labels["link"]), str(item.m.labels["direction"]), configured, measured))
    return rows


@dataclass(frozen=True)
class OffloadRow:
    item: Item
    profile: str
    load: float
    term: str
    measured: float
    predicted: float | None

    @property
    def relative_error(self) -> float | None:
        return relative_error(self.measured, self.predicted)


def offload_rows(items: list[Item]) -> list[OffloadRow]:
    """Rows sorted by profile (first seen), load, then term in pipeline order."""
    rows = []
    profiles: dict[str, int] = {}
    for item in items:
        m = item.m
        load = m.number_label("load")
        assert load is not None and m.value is not None  # section_of checked both
        profile = str(m.labels["profile"])
        profiles.setdefault(profile, len(profiles))
        rows.append(OffloadRow(item, profile, load, str(m.labels["term"]), m.value, m.number_label("predicted")))
    rows.sort(key=lambda r: (profiles[r.profile], r.load, OFFLOAD_TERMS.index(r.term)))
    return rows


@dataclass(frozen=True)
class OffloadStacks:
    """Per load, the mean measured and predicted time of each term (repeated tests are averaged)."""

    unit: str
    loads: list[float]
    measured: dict[str, list[float]]
    predicted: dict[str, list[float]]
    local: list[float | None]


def offload_stacks(rows: list[OffloadRow]) -> OffloadStacks:
    loads = sorted({r.load for r in rows})
    measured: dict[tuple[str, float], list[float]] = defaultdict(list)
    predicted: dict[tuple[str, float], list[float]] = defaultdict(list)
    for r in rows:
        measured[r.term, r.load].append(r.measured)
        if r.predicted is not None:
            predicted[r.term, r.load].append(r.predicted)

    def means(table: dict[tuple[str, float], list[float]], term: str) -> list[float]:
        return [fmean(table[term, load]) if table[term, load] else 0.0 for load in loads]

    local = [fmean(measured["local", load]) if measured["local", load] else None for load in loads]
    return OffloadStacks(rows[0].item.m.unit if rows else "", loads,
                         {t: means(measured, t) for t in OFFLOAD_STACK},
                         {t: means(predicted, t) for t in OFFLOAD_STACK}, local)
