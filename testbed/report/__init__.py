"""A self-contained HTML report from a pytest results directory (``pytest --results DIR``).

``write_report(results_dir)`` reads ``results_dir/results.json`` (format ``testbed-results/1``)
and the series files it names, and writes one HTML file with inline CSS and SVG: nothing to
fetch, so it can be mailed or attached to a CI run. Loading checks everything before anything
is written, and the page is written atomically, so a bad input never leaves a half report.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import sections
from .errors import ReportNotWritten, ResultsInvalid, ResultsNotFound
from .group import group
from .html import Markup, page
from .load import Results, load_results

__all__ = ["ReportNotWritten", "ResultsInvalid", "ResultsNotFound", "load_results", "render_report",
           "write_report"]


def render_report(results: Results) -> str:
    """The page as text; the same results always give the same bytes."""
    grouped = group(results)
    parts: dict[str, Markup | None] = {"topology": sections.topology(results)}
    for name, render in sections.MEASUREMENT_SECTIONS.items():
        parts[name] = render(grouped.sections[name])
    parts["other"] = sections.other(grouped.other)
    parts["tests"] = sections.tests(results)
    present = {name: part for name, part in parts.items() if part is not None}
    header = sections.header(results, [(name, sections.TITLES[name]) for name in present])
    return page(f"Test report: {results.command}", [header, *present.values()])


def write_report(results_dir: Path, out: Path | None = None) -> Path:
    """Render ``results_dir`` and write the page to ``out`` (default ``results_dir/report.html``)."""
    text = render_report(load_results(results_dir))
    target = out if out is not None else results_dir / "report.html"
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ReportNotWritten(f"{target}: cannot write the report: {exc.strerror or exc}") from exc
    return target
