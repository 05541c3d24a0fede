"""Local or edge, per task: the reference's latency rule on predictions from the device's estimates.

T_loc = units / local speed; T_off = the model's ``predict_offload`` with the measured link
(RTT, uplink and downlink rates) and edge speed. The queue term is the edge's measured handling
time (its idle worker's received -> started) plus a wait with two sources:

- a known arrival rate at the edge (``edge_arrival`` > 0, e.g. a campaign that sets the load):
  M/M/c over the edge's workers, as the reference model states it;
- otherwise the worker's own ``/v1/health`` just before the task, as a snapshot: with every
  worker busy the task waits for the queue ahead to drain, ``queue_length / workers`` service
  times, plus the time until the first busy worker frees, ``S / (workers + 1)`` on average when
  the busy tasks' remaining times are spread evenly over one service time. Why a snapshot by
  default: the device does not know the other devices' arrival rates, but it can ask the queue.

A ``forced`` policy ("local" | "edge") still predicts both, so every record carries them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from .estimate import EdgeState, Estimates
from .model import OffloadPrediction, predict_offload, should_offload

Where = Literal["local", "edge"]
WHERE: tuple[Where, ...] = ("local", "edge")


def snapshot_wait_s(edge: EdgeState, service_s: float) -> float:
    """Expected wait of a task arriving now, from the queue the edge reports (see the module doc)."""
    if edge.running < edge.workers and edge.queue_length == 0:
        return 0.0
    return (edge.queue_length / edge.workers + 1 / (edge.workers + 1)) * service_s


@dataclass(frozen=True)
class Decision:
    where: Where
    forced: bool
    local_s: float
    offload: OffloadPrediction

    def as_dict(self) -> dict[str, Any]:
        return {"where": self.where, "forced": self.forced, "local_s": self.local_s,
                **{f"offload_{k}": v for k, v in dataclasses.asdict(self.offload).items()},
                "offload_s": self.offload.total_s}


@dataclass(frozen=True)
class Policy:
    estimates: Estimates
    forced: Where | None = None
    edge_arrival: float = 0.0

    def __post_init__(self) -> None:
        if self.forced is not None and self.forced not in WHERE:
            raise ValueError(f"forced: expected one of {WHERE} or None, got {self.forced!r}")

    def predict(self, units: float, input_bytes: int, edge: EdgeState | None = None) -> tuple[float, OffloadPrediction]:
        """(T_loc, T_off terms) for a task of ``units`` work sent as ``input_bytes``."""
        link, speed = self.estimates.link, self.estimates.speed
        edge = edge or self.estimates.edge
        prediction = predict_offload(8 * input_bytes, 8 * units * speed.output_bytes_per_unit, link.uplink_bps,
                                     link.downlink_bps, link.rtt_s, units, speed.edge_units_per_s,
                                     arrival=self.edge_arrival, servers=edge.workers)
        wait = prediction.queue_s if self.edge_arrival > 0 else snapshot_wait_s(edge, prediction.compute_s)
        prediction = dataclasses.replace(prediction, queue_s=speed.edge_handling_s + wait)
        return units / speed.local_units_per_s, prediction

    def decide(self, units: float, input_bytes: int, edge: EdgeState | None = None) -> Decision:
        local, offload = self.predict(units, input_bytes, edge)
        if self.forced is not None:
            return Decision(self.forced, True, local, offload)
        return Decision("edge" if should_offload(offload, local) else "local", False, local, offload)
