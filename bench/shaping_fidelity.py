"""Configured vs measured link shaping: delay (p50, p99), loss and rate (goodput and throughput).

A two-node rig (ue -- edge) is shaped on the uplink only, one configuration at a time, and
measured across the veth: one-way delay as ping RTT minus the unshaped RTT (the downlink is
unshaped), loss from ping counts, goodput from a TCP transfer's payload and throughput from
the qdisc's own byte counter over the same interval. Needs root and a kernel with netem;
where the host has none, run it in the VM::

    sudo testbed vm -- python bench/shaping_fidelity.py            # full grid, about 3 min under TCG
    sudo testbed vm -- python bench/shaping_fidelity.py --quick
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.backends.emulated import EmulatedRig, clean  # noqa: E402
from testbed.shaping.probes import tcp_goodput  # noqa: E402
from testbed.topology import parse_topology  # noqa: E402

PEER = "10.9.0.2"
DELAYS_MS = [1, 5, 20, 50]
JITTERS_MS = [0, 2]
LOSSES = [1.0, 10.0]
RATES_MBIT = [1, 10, 100]

def ping_times(rig: EmulatedRig, count: int, interval: float) -> tuple[list[float], int]:
    out = rig.run("ue", ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "2", PEER], timeout=600).stdout
    times = [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]
    sent = int(re.search(r"(\d+) packets transmitted", out).group(1))
    return times, sent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure_delay(rig: EmulatedRig, delay: int, jitter: int, base: float, count: int) -> dict:
    fields = {"delay": f"{delay}ms"} | ({"jitter": f"{jitter}ms"} if jitter else {"jitter": None})
    rig.shape("ue-edge", "up", **fields)
    times, _ = ping_times(rig, count, 0.02)
    one_way = [t - base for t in times]
    return {"configured": {"delay_ms": delay, "jitter_ms": jitter},
            "measured": {"p50_ms": round(statistics.median(one_way), 3),
                         "p99_ms": round(percentile(one_way, 0.99), 3),
                         "stdev_ms": round(statistics.pstdev(one_way), 3), "samples": len(one_way)},
            "p50_error_ms": round(statistics.median(one_way) - delay, 3)}


def measure_loss(rig: EmulatedRig, loss: float, count: int) -> dict:
    rig.shape("ue-edge", "up", delay=None, jitter=None, loss=f"{loss}%")
    times, sent = ping_times(rig, count, 0.005)
    measured = 100.0 * (sent - len(times)) / sent
    p = loss / 100
    half = 1.96 * math.sqrt(p * (1 - p) / sent) * 100
    return {"configured": {"loss_pct": loss}, "measured": {"loss_pct": round(measured, 3), "sent": sent},
            "interval95_pct": [round(loss - half, 3), round(loss + half, 3)],
            "within_interval95": abs(measured - loss) <= half}


def qdisc_bytes(rig: EmulatedRig) -> int:
    out = subprocess.run(["tc", "-n", rig.node("ue")["namespace"], "-s", "-j", "qdisc", "show", "dev", "edge", "root"],
                         capture_output=True, text=True, check=True).stdout
    return int(json.loads(out)[0]["bytes"])


def measure_rate(rig: EmulatedRig, mbit: int) -> dict:
    rig.shape("ue-edge", "up", loss=None, rate=f"{mbit}mbit")
    size = int(mbit * 1e6 / 8 * 3)  # about three seconds of data
    before = qdisc_bytes(rig)
    measured = tcp_goodput(rig, "ue", "edge", PEER, size)
    wire = qdisc_bytes(rig) - before
    got, seconds = measured.bytes, measured.seconds
    goodput = int(got) * 8 / float(seconds)
    return {"configured": {"rate_mbit": mbit},
            "measured": {"goodput_mbit": round(goodput / 1e6, 3),
                         "throughput_mbit": round(wire * 8 / float(seconds) / 1e6, 3)},
            "goodput_ratio": round(goodput / (mbit * 1e6), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller grid and fewer samples")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/shaping_fidelity.py needs root")
    rig_name = f"fid{os.getpid() % 100000}"
    text = ("name: fidelity\nnodes: {ue: {role: sensor}, edge: {role: edge}}\n"
            "links:\n  - {endpoints: [ue, edge], addresses: [10.9.0.1/30, 10.9.0.2/30], up: {delay: 1ms}}\n")
    count = 100 if args.quick else 400
    rig = EmulatedRig.up(parse_topology(text, "fidelity.yaml"), rig_name)
    results: dict = {"delay": [], "loss": [], "rate": []}
    try:
        rig.shape("ue-edge", "up", delay=None)
        base_times, _ = ping_times(rig, 50, 0.02)
        base = statistics.median(base_times)
        for delay in DELAYS_MS[: 2 if args.quick else None]:
            for jitter in JITTERS_MS:
                results["delay"].append(measure_delay(rig, delay, jitter, base, count))
        rig.shape("ue-edge", "up", delay=None, jitter=None)
        for loss in LOSSES:
            results["loss"].append(measure_loss(rig, loss, count * 5))
        for mbit in RATES_MBIT[: 2 if args.quick else None]:
            results["rate"].append(measure_rate(rig, mbit))
    finally:
        clean(rig_name)
    hz = subprocess.run(["getconf", "CLK_TCK"], capture_output=True, text=True).stdout.strip()
    print(json.dumps({"bench": "shaping_fidelity", "kernel": platform.release(), "clk_tck": hz,
                      "unshaped_rtt_ms": round(base, 3), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), **results},
                     indent=2))


if __name__ == "__main__":
    main()
