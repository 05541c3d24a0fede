"""How late timeline steps land: a rate trace played on a shaped link, lateness per step.

Each step is a live change (netlink where pyroute2 can encode it, else tc) plus a read-back
with tc. Needs root and netem; where the host has none::

    sudo testbed vm -- python bench/timeline_timing.py --steps 50 --interval-ms 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.backends.emulated import EmulatedRig, clean  # noqa: E402
from testbed.shaping.timeline import Timeline  # noqa: E402
from testbed.topology import parse_topology  # noqa: E402
from testbed.topology.units import Rate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--interval-ms", type=float, default=100.0)
    parser.add_argument("--jitter", action="store_true", help="a jittered link (normal table loaded by tc)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/timeline_timing.py needs root")
    name = f"tl{os.getpid() % 100000}"
    shaping = "delay: 10ms, jitter: 2ms" if args.jitter else "delay: 10ms"
    text = (f"name: {name}\nnodes: {{ue: {{role: sensor}}, edge: {{role: edge}}}}\n"
            f"links:\n  - {{endpoints: [ue, edge], up: {{{shaping}}}}}\n")
    rig = EmulatedRig.up(parse_topology(text, "timeline-bench.yaml"), name)
    try:
        samples = [(i * args.interval_ms / 1000, Rate((5 + (i % 10) * 5) * 1e6)) for i in range(args.steps)]
        report = Timeline().rates("ue-edge", samples, "up", start=0.5).run(rig)
    finally:
        clean(name)
    print(json.dumps({"bench": "timeline_timing", "kernel": platform.release(), "steps": args.steps,
                      "interval_ms": args.interval_ms, "jittered_link": args.jitter, **report.summary()}, indent=2))


if __name__ == "__main__":
    main()
