"""Offload predictions from a topology: the configured path from a device to the edge, per term.

Why the topology and not a measurement: the point of the campaign is to check the rig against
the model, so the link side of the prediction comes from what was configured (netem delay and
rate per direction along the path), and only the compute speeds from a calibration run.

Per direction: one-way delay = the sum of the links' delays, rate = the slowest link's rate
(a link without a rate counts as unlimited); RTT = up + down delay. TCP carries 1448 payload
bytes in a 1514-byte frame on a veth (netem's rate counts the frame), so the payload rate the
transfer terms use is the configured rate × 1448/1514.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from devices.mec.model import allen_cunneen_wait_s, compute_s, mmc_wait_s, transfer_s

from ..topology.model import Direction, Impairment, Link, Topology
from ..topology.paths import Shaping, hops

TCP_PAYLOAD_SHARE = 1448 / 1514


@dataclass(frozen=True)
class PathFigures:
    """The configured device→edge path: hops, one-way delays (s) and bottleneck rates (bit/s)."""

    nodes: tuple[str, ...]
    up_delay_s: float
    down_delay_s: float
    uplink_bps: float  # math.inf when no link on the path limits the rate
    downlink_bps: float

    @property
    def rtt_s(self) -> float:
        return self.up_delay_s + self.down_delay_s


def path_links(topo: Topology, src: str, dst: str) -> list[tuple[Link, Direction]]:
    """The links from ``src`` to ``dst`` with the direction each is crossed in (the rig's routes)."""
    for name in (src, dst):
        if name not in topo.nodes:
            raise KeyError(f"node {name!r}: not in topology {topo.name!r} (nodes: {', '.join(topo.nodes)})")
    try:
        return hops(topo, src, dst)
    except LookupError:
        raise ValueError(f"path {src} -> {dst}: expected a route in topology {topo.name!r}, found none") from None


def _delay_s(impairments: list[Impairment]) -> float:
    return sum(i.delay.us / 1e6 for i in impairments if i.delay is not None)


def _rate_bps(impairments: list[Impairment]) -> float:
    return min((i.rate.bps for i in impairments if i.rate is not None), default=math.inf)


def path_figures(topo: Topology, device: str, edge: str, shaping: Shaping | None = None) -> PathFigures:
    """The path as configured: by the topology, or by ``shaping`` (link, direction) -> what the link
    does now, e.g. a rig's :meth:`~testbed.backends.emulated.EmulatedRig.impairment` after a profile change."""
    of = shaping or topo.impairment
    path = path_links(topo, device, edge)
    up = [of(link, direction) for link, direction in path]
    down = [of(link, "down" if direction == "up" else "up") for link, direction in path]
    nodes = [device]
    for link, _ in path:
        nodes.append(link.peer_of(nodes[-1]))
    return PathFigures(tuple(nodes), _delay_s(up), _delay_s(down), _rate_bps(up), _rate_bps(down))


@dataclass(frozen=True)
class TermPrediction:
    """One task's predicted terms (s), split as the client measures them."""

    upload_s: float  # D_in / R_ul + one-way delay up
    queue_s: float  # the edge's handling + the M/M/c wait, the reference
    queue_md_s: float  # handling + the M/D/c wait (Allen–Cunneen, C_s² = 0): what near-constant tasks should show
    compute_s: float
    download_s: float  # D_out / R_dl + one-way delay down
    local_s: float

    @property
    def total_s(self) -> float:
        return self.upload_s + self.queue_s + self.compute_s + self.download_s


def predict_terms(path: PathFigures, input_bytes: float, output_bytes: float, units: float,
                  edge_units_per_s: float, local_units_per_s: float, arrival: float = 0.0,
                  servers: int = 1, handling_s: float = 0.0) -> TermPrediction:
    """Each term for a task of ``units`` work with background Poisson load ``arrival`` tasks/s;
    ``handling_s`` is the edge's own received -> started time on an idle worker (calibrated)."""
    compute = compute_s(units, edge_units_per_s)
    queue = queue_md = handling_s
    if arrival > 0:
        queue += mmc_wait_s(arrival, 1 / compute, servers)
        queue_md += allen_cunneen_wait_s(arrival, compute, servers, service_cv2=0.0)
    return TermPrediction(transfer_s(8 * input_bytes, path.uplink_bps * TCP_PAYLOAD_SHARE) + path.up_delay_s,
                          queue, queue_md, compute,
                          transfer_s(8 * output_bytes, path.downlink_bps * TCP_PAYLOAD_SHARE) + path.down_delay_s,
                          compute_s(units, local_units_per_s))
