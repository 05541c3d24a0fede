"""testbed report: one self-contained HTML page from a pytest results directory."""

from __future__ import annotations

from pathlib import Path

import click

from .common import reports_errors


@click.command("report")
@click.argument("results_dir", metavar="RESULTS_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "-o", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the page here instead of RESULTS_DIR/report.html.")
@reports_errors
def command(results_dir: Path, out: Path | None) -> None:
    """Render RESULTS_DIR as one HTML page and print the page's path.

    RESULTS_DIR is what `pytest --results DIR` writes: results.json (format
    testbed-results/1) plus the series/ files it names. The page goes to
    RESULTS_DIR/report.html unless --out says otherwise. It is self-contained (inline CSS,
    plots as inline SVG, topologies drawn with Graphviz `dot` when installed), so it can be
    attached to a CI run or mailed as is. The same results give the same bytes.

    Sections: summary and failed tests, topologies, latency (CDF, time series, per-device
    table), links (configured vs measured), offload (measured vs predicted terms), ledger,
    integrity verdicts, any other measurement, and all tests.

    Exit codes: 3 when results.json or a series file is invalid (the message names the file
    and the JSON path of the field), 5 when RESULTS_DIR or its results.json does not exist.
    Nothing is written on error.

    \b
      pytest tests/e2e --results out
      testbed report out                      # writes out/report.html
      testbed report out --out /tmp/ward.html
    """
    from ..report import write_report

    click.echo(str(write_report(results_dir, out)))
