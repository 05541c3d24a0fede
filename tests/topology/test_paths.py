from __future__ import annotations

from pathlib import Path

import pytest

from testbed.topology import Impairment, load_topology
from testbed.topology.paths import hops, one_way_delay_us, one_way_jitter_us
from testbed.topology.units import Duration

WARD = Path(__file__).resolve().parents[2] / "topologies" / "ward.yaml"


def test_the_path_follows_the_routes_with_the_direction_each_link_is_crossed_in() -> None:
    topo = load_topology(WARD)
    assert [(link.name, d) for link, d in hops(topo, "ecg1", "edge")] == [
        ("ecg1-gnb", "up"), ("gnb-upf", "up"), ("upf-edge", "up")]
    assert [d for _, d in hops(topo, "edge", "ecg1")] == ["down", "down", "down"]
    with pytest.raises(LookupError, match="no path from ecg1 to m1"):
        hops(topo, "ecg1", "m1")


def test_one_way_delay_sums_the_configured_delays_or_what_a_lookup_says() -> None:
    topo = load_topology(WARD)
    assert one_way_delay_us(topo, "ecg1", "edge") == pytest.approx(7500 + 100 + 100)
    assert one_way_delay_us(topo, "ecg1", "edge", lambda link, d: Impairment()) == 0


def test_jitter_along_a_path_adds_as_independent_deviations() -> None:
    topo = load_topology(WARD)
    assert one_way_jitter_us(topo, "ecg1", "edge") == pytest.approx(2000)  # only the radio leg jitters
    assert one_way_jitter_us(topo, "ecg1", "cloud") == pytest.approx(2000 * 2 ** 0.5)  # and the WAN
    assert one_way_jitter_us(topo, "gnb", "edge") == 0
    three = Impairment(delay=Duration(5000.0), jitter=Duration(3000.0))
    assert one_way_jitter_us(topo, "ecg1", "edge", lambda link, d: three) == pytest.approx(3000 * 3 ** 0.5)
