from __future__ import annotations

from pathlib import Path

import pytest

from testbed.topology import Impairment, load_topology
from testbed.topology.paths import hops, one_way_delay_us

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
