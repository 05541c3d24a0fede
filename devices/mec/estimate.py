"""What the device measures itself before deciding: RTT, link rates, the edge's queue, both speeds.

Why differential transfers: a timed request of N bytes costs N/R plus an RTT plus fixed server
work; timing two sizes and dividing the byte difference by the time difference cancels the
RTT and the fixed part, leaving the rate the model's D/R term needs.

- RTT: the fastest of a few ``GET /v1/health`` round trips (tiny both ways).
- Uplink: ``POST /v1/tasks`` with an unknown kind and a padding field; the worker reads and
  parses the whole body, then answers a small 400, so the round trip carries N bytes up only.
- Downlink: ``image_compress`` on incompressible pixels at level 0 answers ~4/3 of its input in
  base64; the one-way time (response read − the worker's ``finished_ns``) of two tile sizes
  gives the rate. It needs the device and edge clocks in step (true in an emulated rig; NTP/PTP
  on hardware).
- Speeds: the same calibration input run locally (in this process, under the node's CPU quota)
  and on the edge (its ``compute_ns``), in work units per second (devices/mec/workload.py).
  Sustained, not single-shot: a CFS quota lets a short task run at full speed when it starts with
  quota left, so local runs are repeated back to back over several CFS periods and the speed is
  the total work over the total time, what a stream of tasks sees (one 10 ms run under a 25 %
  quota measured full speed, and the policy then kept tasks local that took 4x longer there).
- Edge handling: the same edge runs' queue wait on an idle worker (received -> started: parsing
  the body and handing the task to a worker process). It is the reference's "orchestrator
  overhead": about 1 ms natively, but 16-19 ms under an emulated CPU, where a model without it
  predicted an idle edge's queue as 0. It is measured with the calibration input, so the part
  that grows with a bigger input is not in it.
"""

from __future__ import annotations

import base64
import json
import random
import statistics
from dataclasses import asdict, dataclass
from typing import Any

from . import client, workload
from .client import EdgeConnection

PROBE_KIND = "mec-upload-probe"  # not a task kind: the worker answers 400 after reading the body
MIN_SPAN_S = 50e-6  # below this a timed difference is noise: report the rate as at least this fast
LOCAL_SPAN_S = 0.3  # local calibration spans many CFS periods, so a quota shows in the figure


@dataclass(frozen=True)
class LinkEstimate:
    rtt_s: float
    uplink_bps: float
    downlink_bps: float


@dataclass(frozen=True)
class EdgeState:
    """The worker's ``/v1/health`` at one instant."""

    workers: int
    queue_length: int
    running: int

    @classmethod
    def from_health(cls, health: dict[str, Any]) -> EdgeState:
        return cls(int(health["workers"]), int(health["queue_length"]), int(health["running"]))


@dataclass(frozen=True)
class SpeedEstimate:
    """One task kind's speed here and on the edge, and its result size, per work unit."""

    kind: str
    local_units_per_s: float
    edge_units_per_s: float
    output_bytes_per_unit: float
    edge_handling_s: float = 0.0  # received -> started on an idle worker


@dataclass(frozen=True)
class Estimates:
    link: LinkEstimate
    edge: EdgeState
    speed: SpeedEstimate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Estimates:
        return cls(LinkEstimate(**document["link"]), EdgeState(**document["edge"]),
                   SpeedEstimate(**document["speed"]))


def measure_rtt(conn: EdgeConnection, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        reply = conn.request("GET", client.HEALTH_PATH)
        times.append((reply.done_ns - reply.sent_ns) / 1e9)
    return min(times)


def _rate(small_bytes: int, small_s: float, large_bytes: int, large_s: float) -> float:
    return 8 * (large_bytes - small_bytes) / max(large_s - small_s, MIN_SPAN_S)


def measure_uplink(conn: EdgeConnection, small: int = 4096, large: int = 131072, repeats: int = 3) -> float:
    """Uplink bit/s from round trips of two upload sizes (the first large one warms the flow)."""
    def upload(size: int) -> float:
        body = json.dumps({"kind": PROBE_KIND, "input": {"pad": "x" * size}}).encode()
        reply = conn.request("POST", client.TASKS_PATH, body)
        if reply.status != 400:
            raise ConnectionError(f"uplink probe: expected the worker's 400 for kind {PROBE_KIND!r}, "
                                  f"got {reply.status}: {reply.body[:200]!r}")
        return (reply.done_ns - reply.sent_ns) / 1e9

    upload(large)
    small_s = min(upload(small) for _ in range(repeats))
    large_s = min(upload(large) for _ in range(repeats))
    return _rate(small, small_s, large, large_s)


def measure_downlink(conn: EdgeConnection, small_side: int = 48, large_side: int = 144, repeats: int = 2) -> float:
    """Downlink bit/s from the one-way download time of two result sizes."""
    rng = random.Random("downlink-probe")

    def download(side: int) -> tuple[int, float]:
        pixels = base64.b64encode(rng.randbytes(side * side)).decode()
        timing = client.offload(conn, "image_compress", {"pixels": pixels, "width": side, "height": side, "level": 0})
        if timing.status != "ok":
            raise ConnectionError(f"downlink probe: expected an image_compress result, got {timing.error}")
        return timing.output_bytes, timing.download_s

    download(large_side)
    small = [download(small_side) for _ in range(repeats)]
    large = [download(large_side) for _ in range(repeats)]
    return _rate(small[0][0], min(s for _, s in small), large[0][0], min(s for _, s in large))


def measure_speeds(conn: EdgeConnection, kind: str, size: float | None = None, repeats: int = 2,
                   local_span_s: float = LOCAL_SPAN_S) -> SpeedEstimate:
    """Time one calibration input on the edge (``repeats`` runs after one to warm its process) and
    here: back to back until ``local_span_s`` has passed, speed = all units / all that time."""
    data = workload.make_input(kind, size or workload.CALIBRATION_SIZE[kind], seed=1)
    units = workload.work_units(kind, data)
    body = client.encode_task(kind, data)
    client.offload(conn, kind, body)
    edge = [client.offload(conn, kind, body) for _ in range(repeats)]
    failed = [t.error for t in edge if t.status != "ok"]
    if failed:
        raise ConnectionError(f"calibration of {kind} on the edge: expected results, got {failed[0]}")
    local: list[float] = []
    while len(local) < repeats or sum(local) < local_span_s:
        local.append(client.run_local(kind, data).compute_s)
    return SpeedEstimate(kind, units * len(local) / sum(local), units / statistics.mean(t.compute_s for t in edge),
                         statistics.mean(t.output_bytes for t in edge) / units, min(t.queue_s for t in edge))


def probe(conn: EdgeConnection, kind: str, size: float | None = None) -> Estimates:
    """Everything the policy needs, measured now from this device."""
    rtt = measure_rtt(conn)
    link = LinkEstimate(rtt, measure_uplink(conn), measure_downlink(conn))
    speed = measure_speeds(conn, kind, size)
    return Estimates(link, EdgeState.from_health(conn.health()), speed)
