from __future__ import annotations

import json

import pytest

from testbed.measure import Limits, Outcome, Recorder
from testbed.measure.results import FORMAT, ResultEntry, ResultsWriter


def test_a_recorder_keeps_every_figure_and_lists_the_failed_and_marginal_ones() -> None:
    rec = Recorder({"topology": "ward"})
    ok = rec.record("goodput", 9.5, "Mbit/s", low=8, marginal_low=9, link="ecg1-gnb")
    marginal = rec.record("rtt", 45, "ms", high=50, marginal_high=40)
    failed = rec.distribution("latency.ecg1", [10, 20, 30, 200], "ms", statistic="max", high=100)
    verdict = rec.check("chain.holds", False)
    assert [m.outcome for m in (ok, marginal, failed, verdict)] == [Outcome.PASS, Outcome.MARGINAL, Outcome.FAIL,
                                                                     Outcome.FAIL]
    assert rec.failed() == [failed, verdict] and rec.marginal() == [marginal]
    assert ok.labels == {"topology": "ward", "link": "ecg1-gnb"}
    assert failed.verdict() == "latency.ecg1 max = 200 ms, expected ≤ 100 ms"
    assert verdict.verdict() == "chain.holds = 0 bool, expected ≥ 1 bool"
    assert rec["rtt"] is marginal


def test_limits_are_given_one_way_only_and_must_be_consistent() -> None:
    rec = Recorder()
    with pytest.raises(ValueError, match="either as Limits"):
        rec.record("x", 1, limits=Limits(high=2), high=3)
    with pytest.raises(ValueError, match="measurement y: limits: expected low <= high"):
        rec.record("y", 1, low=3, high=2)


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a/b"])
def test_names_must_be_plain(name: str) -> None:
    with pytest.raises(ValueError, match="measurement name"):
        Recorder().record(name, 1)


def test_values_and_labels_are_type_checked() -> None:
    with pytest.raises(TypeError, match="expected a number"):
        Recorder().record("x", "3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="label where: expected a string or number"):
        Recorder().record("x", 3, where=["a"])  # type: ignore[arg-type]


def test_the_results_file_is_valid_after_every_test_and_series_hold_the_samples(tmp_path) -> None:
    writer = ResultsWriter(tmp_path / "out", "pytest -k x")
    doc = json.loads(writer.path.read_text())
    assert doc["format"] == FORMAT and doc["tests"] == [] and doc["finished_utc"] is None
    rec = Recorder()
    m = rec.distribution("lat", [3, 1, 2], "ms", times=[10.0, 10.5, 11.0], high=5, section="latency")
    entry = writer.measurement_entry(m)
    writer.add(ResultEntry("t.py::a", "passed", 0.5, "ward", None, None, [entry]))
    doc = json.loads(writer.path.read_text())
    assert doc["tests"][0]["measurements"][0]["distribution"]["percentiles"]["50"] == 2
    series = json.loads((writer.directory / entry["series"]).read_text())
    assert series == {"name": "lat", "unit": "ms", "t_s": [0.0, 0.5, 1.0], "values": [3, 1, 2]}
    writer.flush(finished=True)
    assert json.loads(writer.path.read_text())["finished_utc"]
    assert sorted(p.name for p in writer.directory.iterdir()) == ["results.json", "series"]  # no temp files left
