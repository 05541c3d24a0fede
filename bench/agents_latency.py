"""Per-device capture -> ack latency on an unshaped (or shaped) emulated ward rig, as JSON.

Brings up ``topologies/ward.yaml`` under a throwaway name, runs the ledger on ``edge`` and
agents on ecg1/spo2/nibp for ``--duration`` seconds (optionally taking ecg1's radio link down
for ``--outage`` seconds in the middle), stops them, and prints count/acked/lost/in-order and
latency min/p50/p95/p99/max per device. Needs root::

    python bench/agents_latency.py --duration 10
    python bench/agents_latency.py --duration 10 --outage 3 --shaped   # shaped needs sch_netem
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.agents import Deployment, link_down, link_up  # noqa: E402
from testbed.backends.emulated import EmulatedRig, clean  # noqa: E402
from testbed.topology.loader import load_topology  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--outage", type=float, default=0, help="seconds ecg1's link is down mid-run")
    parser.add_argument("--shaped", action="store_true", help="apply the topology's netem profiles")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="tbb", dir="/dev/shm"))
    os.environ["TESTBED_RUN_DIR"] = str(run_dir)
    name = f"b{os.getpid() % 100000}"
    try:
        rig = EmulatedRig.up(load_topology(REPO / "topologies" / "ward.yaml"), name, shaping=args.shaped)
        with Deployment(rig, {"ecg1": "ecg", "spo2": "spo2", "nibp": "nibp"}) as d:
            quiet = max(0.0, args.duration - args.outage) / 2
            time.sleep(quiet)
            if args.outage:
                link_down(rig, "ecg1", "gnb")
                try:
                    time.sleep(args.outage)
                finally:
                    link_up(rig, "ecg1", "gnb")
            time.sleep(quiet)
            d.stop_agents()
            figures = {node: dataclasses.asdict(f) for node, f in d.figures().items()}
        print(json.dumps({"duration_s": args.duration, "outage_s": args.outage, "shaped": args.shaped,
                          "devices": figures}, indent=1))
    finally:
        clean(name)
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
