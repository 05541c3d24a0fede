"""One function per report section: results in, an HTML fragment out (None when it has no data)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TypeVar

from . import plots
from .fmt import limits_text, num, percent
from .graph import render_dot
from .group import Item, by_label, link_rows, offload_rows, offload_stacks
from .html import Cell, Markup, esc, figure, join, outcome, section, table, tag
from .load import TEST_OUTCOMES, Measurement, Results, TestRecord

T = TypeVar("T")


def _limit(m: Measurement) -> str:
    text = limits_text(m.limits, m.unit)
    return f"{m.statistic} {text}" if m.statistic and m.limits is not None else text


def _section(ident: str, body: list[Cell]) -> Markup:
    return section(ident, TITLES[ident], body)


MAX_CURVES = 12  # per plot: more are unreadable, and legends with hundreds of entries are slow to lay out
MAX_BARS = 40  # per bar chart


def _capped(things: list[T], limit: int, what: str) -> tuple[list[T], str]:
    """The first ``limit`` things, and a caption note when some were left out of the plot."""
    if len(things) <= limit:
        return things, ""
    return things[:limit], f" The plot shows the first {limit} of {len(things)} {what}; the table lists all."


def _code(text: str) -> Markup:
    return tag("code", text)


def _facts(pairs: list[tuple[str, Cell]]) -> Markup:
    return tag("dl", join(join([tag("dt", k), tag("dd", v)]) for k, v in pairs), class_="meta")


def _unique_labels(labels: list[str]) -> list[str]:
    """Labels made unique with a #n suffix where the same one repeats (same device in two tests)."""
    counts, seen = Counter(labels), Counter[str]()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(label if counts[label] == 1 else f"{label} #{seen[label]}")
    return out


def header(results: Results, present: list[tuple[str, str]]) -> Markup:
    """Title, run facts, outcome counts, failed tests with their messages, and a table of contents."""
    tests = results.tests
    counts = Counter(t.outcome for t in tests)
    host = results.host
    meta = [("command", _code(results.command)), ("started", results.started_utc),
            ("finished", results.finished_utc),
            ("host", f"kernel {host.kernel}, {'in a VM' if host.in_vm else 'not in a VM'}, Python {host.python}"),
            ("results", _code(results.source))]
    badges = [outcome(o, f"{counts[o]} {o}") for o in TEST_OUTCOMES]
    badges.append(outcome("marginal", f"{sum(t.marginal for t in tests)} marginal"))
    parts: list[Cell] = [
        tag("h1", "Test report"),
        _facts(meta),
        tag("p", join([f"{len(tests)} tests: ", *badges]), class_="counts"),
    ]
    failed = [t for t in tests if t.outcome in ("failed", "error")]
    if failed:
        parts.append(tag("h3", "Failed tests"))
        parts.append(tag("ul", join(
            tag("li", join([outcome(t.outcome), " ", _code(t.nodeid),
                            tag("pre", t.message) if t.message else ""]))
            for t in failed)))
    if present:
        parts.append(tag("nav", join(tag("a", title, href=f"#{ident}") for ident, title in present)))
    return tag("header", join(parts))


def topology(results: Results) -> Markup | None:
    if not results.topologies:
        return None
    used = Counter(t.topology for t in results.tests)
    body: list[Cell] = []
    for name, topo in results.topologies.items():
        facts = [("file", _code(topo.path)), ("sha256", _code(topo.sha256)), ("nodes", str(topo.nodes)),
                 ("links", str(topo.links)), ("tests", str(used[name]))]
        body += [tag("h3", name), _facts(facts)]
        drawing = render_dot(topo.dot)
        if drawing.data_uri:
            body.append(Markup(f'<img class="graph" alt="{esc("topology " + name)}" src="{drawing.data_uri}">'))
        else:
            body += [tag("p", f"Not drawn: {drawing.problem}. The DOT source:"), tag("pre", topo.dot)]
    return _section("topology", body)


def latency(items: list[Item]) -> Markup | None:
    if not items:
        return None
    body: list[Cell] = []
    for p, (profile, group) in enumerate(by_label(items, "profile").items()):
        key = f"latency-{p}"
        unit = group[0].m.unit
        names = _unique_labels([str(i.m.labels["device"]) for i in group])
        cdfs, traces = [], []
        for name, item in zip(names, group, strict=True):
            m = item.m
            if m.series is not None and m.series.values:
                x, y = plots.cdf_points(m.series.values)
                cdfs.append(plots.Curve(name, x, y))
                if m.series.t_s is not None:
                    t, v = plots.thin(m.series.t_s, m.series.values)
                    traces.append(plots.Curve(name, t, v))
            elif m.distribution is not None:
                x, y = plots.percentile_points(m.distribution)
                cdfs.append(plots.Curve(f"{name} (percentiles)", x, y, step=True))
        cdfs, cdf_note = _capped(cdfs, MAX_CURVES, "curves")
        traces, trace_note = _capped(traces, MAX_CURVES, "series")
        body.append(tag("h3", f"Profile {profile}"))
        body.append(figure(plots.cdf_plot(cdfs, unit, f"Latency CDF, profile {profile}", f"{key}-cdf"),
                           "Cumulative distribution per device: from every sample where a series was recorded, "
                           "otherwise a dashed step curve through the recorded percentiles." + cdf_note))
        if traces:
            body.append(figure(plots.timeseries_plot(traces, unit, f"Latency over time, profile {profile}",
                                                     f"{key}-time"), "Each sample against its time." + trace_note))
        rows = []
        for name, item in zip(names, group, strict=True):
            m, d = item.m, item.m.distribution
            assert d is not None  # section_of admits distributions only
            rows.append([name, str(d.count), num(d.percentile(50)), num(d.percentile(90)), num(d.percentile(99)),
                         num(d.max), m.unit, _limit(m), outcome(m.outcome), m.name, _code(item.test.nodeid)])
        body.append(table(["device", "count", "p50", "p90", "p99", "max", "unit", "limit", "outcome", "measurement",
                           "test"],
                          rows, numeric=range(1, 6)))
    return _section("latency", body)


def link(items: list[Item]) -> Markup | None:
    if not items:
        return None
    rows = link_rows(items)
    body: list[Cell] = [table(
        ["link", "direction", "measurement", "configured", "measured", "difference", "unit", "limits", "outcome",
         "test"],
        ([r.link, r.direction, r.item.m.name, num(r.configured), num(r.measured), num(r.difference), r.item.m.unit,
          _limit(r.item.m), outcome(r.item.m.outcome), _code(r.item.test.nodeid)] for r in rows),
        numeric=(3, 4, 5))]
    by_unit = defaultdict(list)
    for r in rows:
        by_unit[r.item.m.unit].append(r)
    for u, (unit, all_rows) in enumerate(by_unit.items()):
        group, note = _capped(all_rows, MAX_BARS, "measurements")
        groups = _unique_labels([f"{r.link} {r.direction}" for r in group])
        bars = {"configured": [r.configured for r in group], "measured": [r.measured for r in group]}
        svg = plots.grouped_bars(groups, bars, unit, f"Links: configured vs measured ({unit})", f"link-{u}")
        body.append(figure(svg, "Configured link property next to what was measured." + note))
    return _section("link", body)


def ledger(items: list[Item]) -> Markup | None:
    if not items:
        return None
    body: list[Cell] = [_scalar_table(items)]
    valued = [i for i in items if i.m.value is not None]
    if len(valued) >= 2:
        shown, note = _capped(valued, MAX_BARS, "measurements")
        by_unit = defaultdict(list)
        for item in shown:
            by_unit[item.m.unit].append(item)
        panels = [(unit, _unique_labels([i.m.name for i in group]), [i.m.value or 0.0 for i in group])
                  for unit, group in by_unit.items()]
        body.append(figure(plots.bar_panels(panels, "Ledger", "ledger"), "One panel per unit." + note))
    return _section("ledger", body)


def _scalar_table(items: list[Item]) -> Markup:
    return table(["measurement", "value", "unit", "limits", "outcome", "description", "test"],
                 ([i.m.name, num(i.m.value), i.m.unit, _limit(i.m), outcome(i.m.outcome), i.m.description or "",
                   _code(i.test.nodeid)] for i in items), numeric=(1,))


def _verdict(m: Measurement) -> Markup:
    words = {1.0: "holds", 0.0: "BROKEN"}
    word = words.get(m.value, f"value {num(m.value)}") if m.value is not None else "not measured"
    return tag("span", word, class_=f"badge o-{m.outcome}", title=f"outcome: {m.outcome}")


def integrity(items: list[Item]) -> Markup | None:
    if not items:
        return None
    rows, last = [], None
    for item in sorted(items, key=lambda i: i.test.nodeid):  # stable: keeps each test's own order
        first = item.test.nodeid != last
        last = item.test.nodeid
        rows.append([_code(item.test.nodeid) if first else "", item.m.name, _verdict(item.m),
                     item.m.description or ""])
    return _section("integrity", [table(["test", "check", "verdict", "description"], rows)])


def offload(items: list[Item]) -> Markup | None:
    if not items:
        return None
    rows = offload_rows(items)
    body: list[Cell] = []
    profiles = dict.fromkeys(r.profile for r in rows)
    for p, profile in enumerate(profiles):
        group = [r for r in rows if r.profile == profile]
        stacks = offload_stacks(group)
        svg = plots.offload_plot(stacks.loads, stacks.measured, stacks.predicted, stacks.local, stacks.unit,
                                 f"Offload, profile {profile}", f"offload-{p}")
        body += [tag("h3", f"Profile {profile}"),
                 figure(svg, "Per load: measured terms (solid) beside the predicted ones (hatched); "
                             "the line is the time to compute locally. Repeated measurements are averaged.")]
        body.append(table(
            ["load", "term", "measured", "predicted", "relative error", "unit", "limits", "outcome", "measurement",
             "test"],
            ([num(r.load), r.term, num(r.measured), num(r.predicted), percent(r.relative_error), r.item.m.unit,
              _limit(r.item.m), outcome(r.item.m.outcome), r.item.m.name, _code(r.item.test.nodeid)]
             for r in group),
            numeric=(0, 2, 3, 4)))
    return _section("offload", body)


def _labels_text(m: Measurement) -> str:
    return ", ".join(f"{k}={v}" for k, v in m.labels.items())


def _distribution_text(m: Measurement) -> str:
    d = m.distribution
    if d is None:
        return ""
    return f"n={d.count} min={num(d.min)} p50={num(d.percentile(50))} p99={num(d.percentile(99))} max={num(d.max)}"


def other(items: list[Item]) -> Markup | None:
    if not items:
        return None
    return _section("other", [table(
        ["test", "measurement", "value", "unit", "statistic", "limits", "outcome", "distribution", "labels",
         "description"],
        ([_code(i.test.nodeid), i.m.name, num(i.m.value), i.m.unit, i.m.statistic or "", _limit(i.m),
          outcome(i.m.outcome), _distribution_text(i.m), _labels_text(i.m), i.m.description or ""] for i in items),
        numeric=(2,))])


def _test_outcome(t: TestRecord) -> Markup:
    return join([outcome(t.outcome), " ", outcome("marginal")]) if t.marginal else outcome(t.outcome)


def tests(results: Results) -> Markup | None:
    if not results.tests:
        return None
    return _section("tests", [table(
        ["test", "outcome", "duration (s)", "topology", "profile", "measurements", "message"],
        ([_code(t.nodeid), _test_outcome(t), f"{t.duration_s:.2f}", t.topology or "", t.profile or "",
          str(len(t.measurements)), t.message or ""] for t in results.tests),
        numeric=(2, 5))])


SectionFn = Callable[[list[Item]], Markup | None]
MEASUREMENT_SECTIONS: dict[str, SectionFn] = {
    "latency": latency, "link": link, "offload": offload, "ledger": ledger, "integrity": integrity,
}
TITLES = {"topology": "Topologies", "latency": "Latency", "link": "Links", "offload": "Offload",
          "ledger": "Ledger", "integrity": "Integrity", "other": "Other measurements", "tests": "All tests"}
