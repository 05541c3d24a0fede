"""What one trip through the netem VM costs: boot, run ``true``, power off.

Every test that needs a kernel the host lacks pays this once per ``run_in_vm`` call, so it
sets how many boots a suite can afford. Each run is timed from the host (wall clock around
``run_in_vm``) and split by the markers the guest script prints (boot until the command
starts, the command, shutdown). The first run may also extract the PVH copy of the kernel
(once per kernel, ~1 s). The median of ``--repeat`` runs is reported (target under TCG:
< 20 s). Prints one JSON document::

    python bench/vm_roundtrip.py
    python bench/vm_roundtrip.py --repeat 5 --cpus 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.vm import find_vm_tools, run_in_vm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs (default 3; the median is reported)")
    parser.add_argument("--memory", default="2G")
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    tools = find_vm_tools()
    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = run_in_vm(["true"], cwd="/", writable=(), memory=args.memory, cpus=args.cpus)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"`true` exited with {result.returncode} in the VM:\n{result.stderr}")
        runs.append({"wall_s": round(wall, 3), "boot_s": round(result.boot_s, 3), "run_s": round(result.run_s, 3),
                     "shutdown_s": round(result.shutdown_s, 3), "fast_boot": result.fast_boot})
    median = {key: round(statistics.median(run[key] for run in runs), 3)
              for key in ("wall_s", "boot_s", "run_s", "shutdown_s")}
    print(json.dumps({
        "bench": "vm_roundtrip",
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)},
        "vm": {"kernel": tools.kernel.version, "accel": tools.accel.name, "accel_reason": tools.accel.reason,
               "virtme_ng": tools.virtme_version, "memory": args.memory, "cpus": args.cpus},
        "median": median,
        "target_wall_s": 20.0,
        "runs": runs,
    }, indent=2))


if __name__ == "__main__":
    main()
