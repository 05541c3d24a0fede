"""Bring-up and teardown cost per node, beside the same kernel work done by ``ip -batch``.

For each size N the campus generator's N-node topology is brought up and taken down by
testbed (``EmulatedRig.up`` / ``down_rig``) and by iproute2 from the very same plan
(``testbed.backends.plan.ip_batch``: one ``ip -batch`` for namespaces and veths, then one
``ip -n NS -batch`` per namespace; teardown is one ``ip -batch`` of ``netns del``). The
floor is the best way a shell script could do it. Runs alternate between the two methods;
the median of ``--repeat`` runs is reported. Needs root. Prints one JSON document::

    sudo python bench/bringup.py                    # N = 10, 50, 100, 200
    sudo python bench/bringup.py --sizes 100 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.backends.emulated import EmulatedRig, clean, down_rig  # noqa: E402
from testbed.backends.netns import list_netns  # noqa: E402
from testbed.backends.plan import RigPlan, ip_batch, plan_rig  # noqa: E402
from testbed.topology import parse_topology  # noqa: E402
from testbed.topology.generate import campus  # noqa: E402

SETTLE_S = 1.0  # the kernel frees namespaces asynchronously; let it finish between runs


def time_testbed(text: str, rig: str) -> tuple[float, float]:
    topo = parse_topology(text, "bench.yaml")
    started = time.perf_counter()
    EmulatedRig.up(topo, rig)
    up = time.perf_counter() - started
    started = time.perf_counter()
    down_rig(rig)
    return up, time.perf_counter() - started


def time_ip_batch(plan: RigPlan) -> tuple[float, float]:
    host, per_ns = ip_batch(plan)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for i, (netns, lines) in enumerate(per_ns.items()):
            files[netns] = Path(tmp) / f"ns{i}"
            files[netns].write_text("\n".join(lines) + "\n")
        host_file = Path(tmp) / "host"
        host_file.write_text("\n".join(host) + "\n")
        down_file = Path(tmp) / "down"
        down_file.write_text("".join(f"netns del {ns.netns}\n" for ns in plan.namespaces))
        started = time.perf_counter()
        subprocess.run(["ip", "-batch", str(host_file)], check=True)
        for netns, path in files.items():
            subprocess.run(["ip", "-n", netns, "-batch", str(path)], check=True)
        up = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(["ip", "-batch", str(down_file)], check=True)
        return up, time.perf_counter() - started


def measure(size: int, repeat: int) -> dict:
    rig = f"bench{os.getpid() % 100000}"
    text = campus(size, name=rig)
    plan = plan_rig(parse_topology(text, "bench.yaml"))
    nodes = len(plan.namespaces)
    ours: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    for i in range(repeat):
        for method in ((0, 1) if i % 2 == 0 else (1, 0)):
            if method == 0:
                ours.append(time_testbed(text, rig))
            else:
                floor.append(time_ip_batch(plan))
            leftover = [n for n in list_netns() if n.startswith(f"tb-{rig}-")]
            if leftover:
                raise SystemExit(f"bench: {len(leftover)} namespaces left after a run, e.g. {leftover[0]}")
            time.sleep(SETTLE_S)

    def per_node(samples: list[tuple[float, float]], which: int) -> float:
        return round(statistics.median(s[which] for s in samples) / nodes * 1000, 4)

    result = {
        "nodes": nodes,
        "links": len(plan.veths),
        "routes": sum(len(ns.routes) for ns in plan.namespaces),
        "testbed": {"up_ms_per_node": per_node(ours, 0), "down_ms_per_node": per_node(ours, 1)},
        "ip_batch": {"up_ms_per_node": per_node(floor, 0), "down_ms_per_node": per_node(floor, 1)},
    }
    result["up_ratio_to_floor"] = round(result["testbed"]["up_ms_per_node"] / result["ip_batch"]["up_ms_per_node"], 3)
    result["down_ratio_to_floor"] = round(
        result["testbed"]["down_ms_per_node"] / result["ip_batch"]["down_ms_per_node"], 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100, 200], help="node counts")
    parser.add_argument("--repeat", type=int, default=5, help="runs per method and size (median reported)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/bringup.py needs root: it creates network namespaces")
    try:
        results = [measure(size, args.repeat) for size in args.sizes]
    finally:
        clean(f"bench{os.getpid() % 100000}")
    iproute = subprocess.run(["ip", "-V"], capture_output=True, text=True).stdout.strip()
    print(json.dumps({
        "bench": "bringup",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "iproute2": iproute,
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
