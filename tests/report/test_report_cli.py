"""``testbed report`` through click: output path on stdout, exit codes, and a help that teaches."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from report_builder import ResultsDir, full

from testbed.cli.report import command


def test_writes_report_html_and_prints_its_path(tmp_path: Path) -> None:
    root = full(tmp_path / "out").write()
    result = CliRunner().invoke(command, [str(root)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{root / 'report.html'}\n"
    assert (root / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_out_option(tmp_path: Path) -> None:
    root = ResultsDir(tmp_path / "out").write()
    result = CliRunner().invoke(command, [str(root), "--out", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "page.html")
    assert (tmp_path / "page.html").exists() and not (root / "report.html").exists()


def test_missing_directory_exits_5(tmp_path: Path) -> None:
    result = CliRunner().invoke(command, [str(tmp_path / "nope")])
    assert result.exit_code == 5
    assert "no such results directory" in result.stderr
    assert result.stdout == ""


def test_invalid_results_exit_3_naming_the_field_and_write_nothing(tmp_path: Path) -> None:
    results = full(tmp_path / "out")
    document = results.document()
    document["tests"][3]["measurements"][0]["unit"] = 5
    root = results.write(document)
    result = CliRunner().invoke(command, [str(root)])
    assert result.exit_code == 3
    assert f"{root / 'results.json'}: tests[3].measurements[0].unit: expected a string, got 5" in result.stderr
    assert not (root / "report.html").exists()


def test_bad_json_exits_3(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"format": "testbed-results/1"})[:-1])
    result = CliRunner().invoke(command, [str(tmp_path)])
    assert result.exit_code == 3 and "not valid JSON" in result.stderr


def test_unwritable_destination_exits_1(tmp_path: Path) -> None:
    root = ResultsDir(tmp_path / "out").write()
    result = CliRunner().invoke(command, [str(root), "--out", str(tmp_path / "no" / "such" / "dir.html")])
    assert result.exit_code == 1 and "cannot write the report" in result.stderr


def test_help_explains_input_output_and_example() -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    for phrase in ("pytest --results DIR", "RESULTS_DIR/report.html", "--out", "testbed report out", "Exit codes"):
        assert phrase in result.output
