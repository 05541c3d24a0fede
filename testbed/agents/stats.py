"""An agent's JSON-lines stats as typed samples, and the per-device figures tests assert on.

Latency is capture -> ack on the agent's one wall clock, so it includes the time a record
waited in the durable queue (an outage shows up here, as it should). ``lost`` counts
records the agent made (its last ``next_seq`` - 1) that never got an ack; ``in_order`` holds
when acks arrived with strictly increasing sequence numbers and ledger indexes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from .errors import AgentError

NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class AckSample:
    device_id: str
    seq: int
    frame: int
    capture_ns: int
    send_ns: int
    ack_ns: int
    index: int | None  # position in the ledger (None: held already, acked by a 409)
    already_held: bool

    @property
    def latency_ms(self) -> float:
        return (self.ack_ns - self.capture_ns) / NS_PER_MS


@dataclass(frozen=True)
class AgentStats:
    """Everything one stats file says: the acks in file order and the last run's summary."""

    device_id: str
    acks: tuple[AckSample, ...]
    made: int  # records the device ever made: the last summary's next_seq - 1
    pending: int  # records still queued at the last stop
    stopped: bool  # a summary line exists (the agent stopped cleanly at least once)


@dataclass(frozen=True)
class Latency:
    min_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class DeviceFigures:
    device_id: str
    count: int  # ack lines
    acked: int  # distinct sequence numbers acknowledged
    lost: int  # made but not acknowledged at the end
    in_order: bool
    latency: Latency | None  # None when nothing was acked


def read_stats(path: Path) -> AgentStats:
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise AgentError(f"{path}: expected agent stats as JSON lines, got: {exc}") from None
    device = next((line["device_id"] for line in lines if "device_id" in line), path.parent.name)
    acks = tuple(AckSample(line["device_id"], line["seq"], line["frame"], line["capture_ns"], line["send_ns"],
                           line["ack_ns"], line.get("index"), bool(line.get("already_held")))
                 for line in lines if line["event"] == "ack")
    summaries = [line for line in lines if line["event"] == "summary"]
    last = summaries[-1] if summaries else None
    made = last["next_seq"] - 1 if last else max((a.seq for a in acks), default=0)
    return AgentStats(device, acks, made, last["pending"] if last else 0, last is not None)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile (a value that was measured, never an interpolation)."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def figures(stats: AgentStats) -> DeviceFigures:
    seqs = [a.seq for a in stats.acks]
    indexes = [a.index for a in stats.acks if a.index is not None]
    in_order = all(x < y for x, y in pairwise(seqs)) and all(x < y for x, y in pairwise(indexes))
    acked = len(set(seqs))
    values = sorted(a.latency_ms for a in stats.acks)
    latency = Latency(values[0], percentile(values, 50), percentile(values, 95), percentile(values, 99),
                      values[-1]) if values else None
    return DeviceFigures(stats.device_id, len(seqs), acked, max(0, stats.made - acked), in_order, latency)
