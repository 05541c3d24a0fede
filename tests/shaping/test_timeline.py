"""Timelines without a kernel: trace formats, step order, handovers, and timing reports.

The rig here records what it is asked to set (the timeline's only dependency is the small
``ShapeableRig`` protocol); the kernel side of the same timelines is tested in
test_netem_kernel.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from testbed.shaping.timeline import MIN_TRACE_RATE, Timeline, read_trace
from testbed.topology import parse_topology
from testbed.topology.library import library_profiles
from testbed.topology.model import Impairment
from testbed.topology.units import Rate


class RecordingRig:
    """Holds link shaping in a state dict, as EmulatedRig does, and logs every set."""

    def __init__(self, links: dict[str, dict]) -> None:
        self.state = {"links": [{"name": n, "up": dict(d), "down": dict(d)} for n, d in links.items()]}
        self.log: list[tuple[float, str, dict[str, Impairment]]] = []

    def set_shaping(self, link: str, wanted: dict[str, Impairment]) -> dict:
        self.log.append((time.monotonic(), link, dict(wanted)))
        entry = next(lk for lk in self.state["links"] if lk["name"] == link)
        for d, imp in wanted.items():
            entry[d] = imp.as_dict()
        return dict(wanted)


def test_lumos5g_trace_gives_one_rate_per_second_from_zero(tmp_path: Path) -> None:
    trace = tmp_path / "drive.csv"
    trace.write_text("Timestamp,Throughput\n100,850.5\n101,0\n102,12\n", encoding="utf-8")
    assert read_trace(trace, "lumos5g") == [(0.0, Rate(850.5e6)), (1.0, MIN_TRACE_RATE), (2.0, Rate(12e6))]


def test_mahimahi_trace_counts_delivery_opportunities_per_window(tmp_path: Path) -> None:
    trace = tmp_path / "cell.up"
    # 10 opportunities in the first 100 ms, none in the second, 1 in the third
    trace.write_text("\n".join(["5"] * 10 + ["250"]) + "\n", encoding="utf-8")
    samples = read_trace(trace, "mahimahi")
    assert samples == [(0.0, Rate(10 * 12000 / 0.1)), (0.1, MIN_TRACE_RATE), (0.2, Rate(12000 / 0.1))]


def test_a_bad_trace_line_names_file_and_line(tmp_path: Path) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text("0 10\n1 ten\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.csv:2: expected 'seconds mbps'"):
        read_trace(trace, "lumos5g")


def test_handover_is_a_blackout_then_the_new_profile_and_steps_run_in_time_order() -> None:
    rig = RecordingRig({"ue-gnb": {"delay": "7500us", "loss": "0.1%", "rate": "76mbit"}})
    lte = library_profiles()["lte-measured"]
    timeline = Timeline().handover(0.05, "ue-gnb", "60ms", lte).set(0.02, "ue-gnb", "up", delay="20ms")
    report = timeline.run(rig)
    labels = [a.step for a in report.applied]
    assert labels == ["set delay=20ms", "handover: blackout 60ms", "handover: attach to lte-measured"]
    _, _, first = rig.log[0]
    assert list(first) == ["up"] and str(first["up"].delay) == "20ms" and str(first["up"].loss) == "0.1%"
    _, _, cut = rig.log[1]
    assert str(cut["up"].loss) == "100%" and str(cut["down"].loss) == "100%" and str(cut["up"].delay) == "20ms"
    (t_cut, _, _), (t_attach, _, attach) = rig.log[1], rig.log[2]
    assert 0.045 <= t_attach - t_cut < 0.2  # 60 ms apart on schedule, less the cut's own lateness
    assert str(attach["down"].rate) == "176mbit" and str(attach["up"].rate) == "36mbit"
    summary = report.summary()
    assert summary["errors"] == 0 and summary["in_order"] and summary["late_ms_max"] < 100


def test_handover_without_a_profile_restores_what_was_there() -> None:
    rig = RecordingRig({"ue-gnb": {"delay": "5ms"}})
    Timeline().handover(0.0, "ue-gnb", "10ms").run(rig)
    assert rig.state["links"][0]["up"] == {"delay": "5ms"}


def test_a_failing_step_is_reported_and_the_rest_still_run() -> None:
    rig = RecordingRig({"ue-gnb": {"delay": "5ms"}})
    report = Timeline().set(0.0, "ue-gnb", delay=None, jitter="1ms").set(0.01, "ue-gnb", delay="9ms").run(rig)
    assert report.applied[0].error and "jitter needs delay" in report.applied[0].error
    assert report.applied[1].error is None and rig.state["links"][0]["up"] == {"delay": "9ms"}
    assert report.summary()["errors"] == 1


def test_a_topology_timeline_becomes_steps_with_its_trace_and_library_profile(tmp_path: Path) -> None:
    (tmp_path / "drive.csv").write_text("0 10\n1 20\n", encoding="utf-8")
    topo_file = tmp_path / "t.yaml"
    topo_file.write_text(
        "name: r\nnodes: {ue: {role: sensor}, gnb: {role: router}}\nlinks:\n  - {endpoints: [ue, gnb]}\n"
        "timeline:\n"
        "  - {at: 2s, link: ue-gnb, set: {delay: 40ms}}\n"
        "  - {at: 3s, link: ue-gnb, handover: {blackout: 66ms, profile: nsa-lowband-measured}}\n"
        "  - {at: 500ms, link: ue-gnb, direction: down, trace: {file: drive.csv, format: lumos5g}}\n",
        encoding="utf-8")
    from testbed.topology import load_topology

    timeline = Timeline.from_topology(load_topology(topo_file))
    assert [(s.at, s.label, s.directions) for s in timeline.steps] == [
        (0.5, "trace rate 10mbit", ("down",)), (1.5, "trace rate 20mbit", ("down",)),
        (2.0, "set delay=40ms", ("up", "down")), (3.0, "handover: blackout 66ms", ("up", "down")),
        (3.066, "handover: attach to nsa-lowband-measured", ("up", "down"))]


def test_timeline_events_are_checked_when_the_topology_loads(tmp_path: Path) -> None:
    from testbed.errors import TopologyInvalid

    text = ("name: r\nnodes: {ue: {role: sensor}, gnb: {role: router}}\nlinks:\n  - {endpoints: [ue, gnb]}\n"
            "timeline:\n  - {at: 1s, link: ue-gbn, set: {delay: 1ms}}\n"
            "  - {link: ue-gnb, handover: {blackout: 5ms, profile: lte-mesured}}\n")
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(text, str(tmp_path / "t.yaml"))
    problems = "\n".join(info.value.problems)
    assert "timeline[0].link: no link named 'ue-gbn' (did you mean 'ue-gnb'?)" in problems
    assert "timeline[1]: missing required field 'at'" in problems
    assert "no profile named 'lte-mesured' (did you mean 'lte-measured'?)" in problems
