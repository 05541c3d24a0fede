"""Shared pieces of the end-to-end suites: which devices each shipped topology runs, and the
expectations built from what the rig is configured to do right now (profile included)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from testbed.agents import Deployment
from testbed.agents.integrity import stats_of
from testbed.agents.ledger import LedgerEntry
from testbed.agents.process import PYTHON
from testbed.agents.sensors import LIGHT_SIGNALS
from testbed.agents.stats import AgentStats, figures
from testbed.backends.emulated import EmulatedRig
from testbed.measure import Recorder
from testbed.topology.paths import hops, one_way_delay_us

# Device kinds per shipped topology: the sensor nodes and the agent each runs.
DEVICES: dict[str, dict[str, str]] = {
    "ward": {"ecg1": "ecg", "spo2": "spo2", "nibp": "nibp"},
    "ambulance": {"ecg": "ecg", "spo2": "spo2"},
    "surgery": {"robot": "ecg"},  # the robot's joint-state stream, carried by an ECG-rate agent
    "ultrasound": {"probe": "ecg"},
}
SIGNALS = LIGHT_SIGNALS  # headroom for the VM's emulated CPU

# Device-side and ledger-side processing allowed on top of the configured path (signing,
# encryption, the durable queue, the ledger's group commit). Under the VM's TCG emulation
# Python runs many times slower and each round trip costs about 2 ms more, so the budget
# there only catches gross failures; the low limits (the configured path) hold everywhere.
IN_VM = bool(os.environ.get("TESTBED_IN_VM"))
PROCESSING_MS = 400.0 if IN_VM else 40.0
ROUND_TRIPS_PER_RECORD = 2  # the payload PUT, then the envelope POST, on one keep-alive connection


def one_way_ms(rig: EmulatedRig, src: str, dst: str) -> float:
    """Configured delay from ``src`` to ``dst`` along the rig's path, as the links are shaped now."""
    assert rig.topology is not None
    return one_way_delay_us(rig.topology, src, dst, rig.impairment) / 1000


def access_link_of(rig: EmulatedRig, device: str) -> str:
    assert rig.topology is not None
    return next(link.name for link in rig.topology.links if device in link.nodes and link.name)


def configured_profile(rig: EmulatedRig, device: str) -> str:
    """The profile the topology puts on the device's radio leg (the report groups latency by it)."""
    assert rig.topology is not None
    names = [link.profile for link, _ in hops(rig.topology, device, "edge") if link.profile]
    return names[0] if names else "unshaped"


def round_trip_ms(rig: EmulatedRig, device: str, edge: str = "edge") -> float:
    return one_way_ms(rig, device, edge) + one_way_ms(rig, edge, device)


@dataclass
class Run:
    stats: dict[str, AgentStats]
    entries: list[LedgerEntry]
    seconds: float


def stream(rig: EmulatedRig, kinds: Mapping[str, str], seconds: float, during: Any = None,
           signals: Mapping[str, dict[str, Any]] | None = None) -> Run:
    """Run the ledger and the agents for ``seconds`` (calling ``during(deployment)`` first, if given),
    stop the agents (they drain their queues), and read the stats and the chain."""
    with Deployment(rig, dict(kinds), signals={**SIGNALS, **(signals or {})}) as d:
        started = time.monotonic()
        if during is not None:
            during(d)
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        d.stop_agents()
        entries = d.ledger_entries()
        stats = stats_of(d)
    return Run(stats, entries, seconds)


def record_device_latency(measurements: Recorder, rig: EmulatedRig, device: str, stats: AgentStats,
                          extra_ms: float = 0.0) -> None:
    """Capture -> ack per device with limits from the configured path; the hops it splits into."""
    fig = figures(stats)
    rtt = round_trip_ms(rig, device)
    floor = ROUND_TRIPS_PER_RECORD * rtt
    high = floor + PROCESSING_MS + extra_ms
    measurements.record(f"path_rtt.{device}", rtt, "ms", section="expectation", device=device,
                        description="configured round trip device <-> edge: the floor is two of these")
    acks = stats.acks
    profile = {} if "profile" in measurements.defaults else {"profile": configured_profile(rig, device)}
    measurements.distribution(f"latency.{device}", [(a.ack_ns - a.capture_ns) / 1e6 for a in acks], "ms",
                              times=[a.capture_ns / 1e9 for a in acks], statistic="p50", high=high,
                              marginal_high=floor + PROCESSING_MS / 2 + extra_ms, section="latency", device=device,
                              description="capture -> ack", **profile)
    measurements.distribution(f"hop.{device}.network_ledger", [(a.ack_ns - a.send_ns) / 1e6 for a in acks], "ms",
                              statistic="p50", low=0.9 * floor - 1.0, high=high, section="hop", device=device,
                              description="send -> ack: two round trips of the configured path and the commit; "
                                          "below the configured path means the shaping did not apply")
    measurements.distribution(f"hop.{device}.device", [(a.send_ns - a.capture_ns) / 1e6 for a in acks], "ms",
                              statistic="p50", section="hop", device=device,
                              description="capture -> send: sign, encrypt, durable queue")
    measurements.record(f"records.{device}.acked", fig.acked, "records", low=1, section="ledger", device=device)
    measurements.record(f"records.{device}.lost", fig.lost, "records", high=0, section="ledger", device=device)
    measurements.check(f"records.{device}.in_order", fig.in_order, section="integrity", device=device)


_HTTP_RTT = """
import http.client, json, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = http.client.HTTPConnection(host, port, timeout=10)
out = []
for _ in range(n):
    t = time.perf_counter_ns()
    conn.request("GET", "/v1/health")
    conn.getresponse().read()
    out.append((time.perf_counter_ns() - t) / 1e6)
print(json.dumps(out))
"""


def http_round_trips_ms(rig: EmulatedRig, node: str, url: str, count: int) -> list[float]:
    """``count`` keep-alive GET /v1/health round trips from ``node`` to the service at ``url``."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    done = rig.run(node, [PYTHON, "-c", _HTTP_RTT, host, port, str(count)], timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
