"""Predictions from a topology: the configured path's delays and bottleneck rates, per term."""

from __future__ import annotations

import math

import pytest

from testbed.offload.predict import TCP_PAYLOAD_SHARE, path_figures, path_links, predict_terms
from testbed.topology import parse_topology

WARD = """
name: p
nodes:
  dev: {role: sensor}
  gnb: {role: router}
  upf: {role: router}
  edge: {role: edge}
  lonely: {role: sensor, forwarding: false}
  other: {role: sensor}
links:
  - {endpoints: [dev, gnb], profile: lte-measured}
  - {endpoints: [upf, gnb], profile: metro-fiber, up: {delay: 2ms}}
  - {endpoints: [upf, edge], down: {rate: 20mbit}}
  - {endpoints: [other, lonely]}
"""


def test_path_sums_delays_and_takes_the_slowest_rate_per_direction() -> None:
    topo = parse_topology(WARD, "<ward>")
    assert [d for _, d in path_links(topo, "dev", "edge")] == ["up", "down", "up"]
    path = path_figures(topo, "dev", "edge")
    assert path.nodes == ("dev", "gnb", "upf", "edge")
    # up: LTE 9 ms + fibre gnb->upf is its "down" (100 us); down: fibre upf->gnb is "up" (2 ms) + LTE 9 ms.
    assert path.up_delay_s == pytest.approx(0.0091)
    assert path.down_delay_s == pytest.approx(0.011)
    assert path.uplink_bps == 36e6  # LTE up; the fibre's 10 Gbit/s is not the bottleneck
    assert path.downlink_bps == 20e6  # the upf-edge link's down override beats LTE's 176 Mbit/s
    assert path.rtt_s == pytest.approx(0.0201)
    with pytest.raises(ValueError, match="path dev -> other: expected a route"):
        path_figures(topo, "dev", "other")
    with pytest.raises(KeyError, match="node 'cloud': not in topology"):
        path_figures(topo, "dev", "cloud")


def test_terms_from_the_path_and_the_calibrated_speeds() -> None:
    path = path_figures(parse_topology(WARD, "<ward>"), "dev", "edge")
    t = predict_terms(path, input_bytes=45_000, output_bytes=2_500, units=10_000, edge_units_per_s=500_000,
                      local_units_per_s=100_000)
    assert t.upload_s == pytest.approx(45_000 * 8 / (36e6 * TCP_PAYLOAD_SHARE) + 0.0091)
    assert t.download_s == pytest.approx(2_500 * 8 / (20e6 * TCP_PAYLOAD_SHARE) + 0.011)
    assert (t.compute_s, t.local_s, t.queue_s) == (pytest.approx(0.02), pytest.approx(0.1), 0)
    loaded = predict_terms(path, 45_000, 2_500, 10_000, 500_000, 100_000, arrival=25)  # ρ = 0.5
    assert loaded.queue_s == pytest.approx(0.02) and loaded.queue_md_s == pytest.approx(0.01)
    assert loaded.total_s == pytest.approx(t.total_s + 0.02)
    handled = predict_terms(path, 45_000, 2_500, 10_000, 500_000, 100_000, arrival=25, handling_s=0.003)
    assert (handled.queue_s, handled.queue_md_s) == (pytest.approx(0.023), pytest.approx(0.013))
    unshaped = parse_topology("name: u\nnodes: {a: {role: sensor}, b: {role: edge}}\nlinks: [{endpoints: [a, b]}]",
                              "<u>")
    assert math.isinf(path_figures(unshaped, "a", "b").uplink_bps)
    assert predict_terms(path_figures(unshaped, "a", "b"), 1e6, 1e3, 1, 1, 1).upload_s == 0
