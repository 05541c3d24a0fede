"""The plugin as users meet it, through pytester: options, markers, measurements, results files.
None of these need root: rigs are left out (test_plugin_rigs.py brings real ones up)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

# imported here, not inside a test: pytester restores sys.modules after each test, and numpy
# (under matplotlib) cannot be initialised twice in one process
from testbed.report import write_report

pytest_plugins = ["pytester"]

MEASURING = """
import pytest

def test_within(measurements):
    measurements.record("goodput", 9.5, "Mbit/s", low=8, marginal_low=9, section="link")
    measurements.distribution("latency.ecg1", [10, 11, 12, 13], "ms", times=[0, 1, 2, 3], statistic="p99",
                              high=50, section="latency", device="ecg1")

def test_marginal(measurements):
    measurements.record("rtt", 45, "ms", high=50, marginal_high=40)

def test_broken(measurements):
    measurements.record("loss", 3.0, "%", high=1)
    measurements.record("rtt", 60, "ms", high=50)
    measurements.record("fine", 1, "ms", high=50)

def test_body_fails_first(measurements):
    measurements.record("loss", 3.0, "%", high=1)
    assert False, "the body's own failure"

@pytest.mark.needs("hardware")
def test_on_hardware():
    pass

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown went wrong")

def test_teardown_error(broken_teardown):
    pass
"""


@pytest.fixture
def run(pytester: pytest.Pytester):
    pytester.makepyfile(test_measuring=MEASURING)
    return pytester.runpytest("--results", "out", "-p", "no:cacheprovider", "-rs")


def test_options_and_markers_are_registered(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest("--help").stdout.str()
    for option in ("--topology=FILE", "--keep-up", "--results=DIR", "--vm={auto,never,always}"):
        assert option in help_text
    markers = pytester.runpytest("--markers").stdout.str()
    for marker in ("topology(*files)", "profile(*names, links=None)", "needs(*capabilities)"):
        assert f"@pytest.mark.{marker}" in markers


def test_a_broken_limit_fails_the_test_quoting_every_broken_figure(run: pytest.RunResult) -> None:
    run.assert_outcomes(passed=3, failed=2, skipped=1, errors=1)
    out = run.stdout.str()
    assert "MeasurementFailed: loss = 3 %, expected ≤ 1 %; rtt = 60 ms, expected ≤ 50 ms" in out
    assert "fine =" not in out.split("MeasurementFailed")[1].splitlines()[0]
    assert "AssertionError: the body's own failure" in out  # the body's failure is the one reported
    assert "MARGINAL rtt = 45 ms, expected ≤ 50 ms (marginal > 40)" in out
    assert "needs hardware: needs real hardware" in out
    assert "testbed report" in out


def test_results_json_holds_every_test_with_its_measurements(run: pytest.RunResult, pytester: pytest.Pytester) -> None:
    doc = json.loads((pytester.path / "out" / "results.json").read_text())
    assert doc["format"] == "testbed-results/1" and doc["finished_utc"]
    tests = {t["nodeid"].split("::")[1]: t for t in doc["tests"]}
    assert {k: t["outcome"] for k, t in tests.items()} == {
        "test_within": "passed", "test_marginal": "passed", "test_broken": "failed",
        "test_body_fails_first": "failed", "test_on_hardware": "skipped", "test_teardown_error": "error"}
    assert tests["test_marginal"]["marginal"] and not tests["test_within"]["marginal"]
    assert "rtt = 60 ms" in tests["test_broken"]["message"]
    assert tests["test_on_hardware"]["message"].startswith("needs hardware")
    assert "teardown went wrong" in tests["test_teardown_error"]["message"]
    latency = tests["test_within"]["measurements"][1]
    assert latency["statistic"] == "p99" and latency["value"] == 13 and latency["outcome"] == "pass"
    series = json.loads((pytester.path / "out" / latency["series"]).read_text())
    assert series["values"] == [10, 11, 12, 13] and series["t_s"] == [0, 1, 2, 3]


def test_junit_xml_carries_the_figures_as_properties(run: pytest.RunResult, pytester: pytest.Pytester) -> None:
    tree = ET.parse(pytester.path / "out" / "junit.xml")
    case = next(c for c in tree.iter("testcase") if c.get("name") == "test_broken")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["loss"] == "3" and props["loss.unit"] == "%" and props["loss.outcome"] == "fail"
    assert props["loss.limits"] == "≤ 1 %" and props["fine.outcome"] == "pass"


def test_the_report_renders_what_the_plugin_wrote(run: pytest.RunResult, pytester: pytest.Pytester) -> None:
    page = write_report(pytester.path / "out").read_text()
    assert "latency.ecg1" in page and "test_broken" in page


def test_unknown_capabilities_are_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.needs("teleport")
        def test_x():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert "expected one of root, netem, vm, kvm, hardware" in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_a_rig_without_a_topology_skips_saying_how_to_give_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(rig):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    assert "pass --topology FILE or mark it @pytest.mark.topology('FILE')" in result.stdout.str()


def test_a_missing_topology_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.topology("nowhere.yaml")
        def test_x(rig):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert "topology 'nowhere.yaml': no such file" in result.stdout.str() + result.stderr.str()
