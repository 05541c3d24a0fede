"""The demo behind ``make demo``: bring the ward up, show it, ping across it, take it down.

Later capabilities (shaping, sensors, ledger, reports) join here, so the demo stays the one
command that shows the whole product working on a fresh machine.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from .backends.emulated import EmulatedRig
from .errors import TestbedError
from .topology import Topology, load_topology
from .topology.paths import hops

RTT = re.compile(r"rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)")


def run(topology_path: str, count: int) -> int:
    topo = load_topology(topology_path)
    print(f"== bringing up {topo.name!r} from {topology_path}: {len(topo.nodes)} nodes, {len(topo.links)} links")
    rig = EmulatedRig.up(topo, f"demo-{topo.name}"[:24])
    failures = 0
    try:
        print(f"== nodes (each a network namespace tb-{rig.name}-<node>)")
        for node in rig.state["nodes"]:
            print(f"   {node['name']:<8} {node['role']:<7} {', '.join(node['addresses']) or '(no links)'}")
        targets = [n for n in rig.state["nodes"] if n["role"] in ("edge", "cloud")]
        sources = [n for n in rig.state["nodes"] if n["role"] == "sensor"]
        shaped = sum(1 for link in rig.state["links"] if link["shaped"] and (link["up"] or link["down"]))
        print(f"== ping, {count} packets each, across {shaped} shaped links (netem: the profiles in the topology)")
        print(f"   {'from':<8} {'to':<8} {'address':<15} {'hops':>4} {'configured':>10} {'measured':>9}  result")
        for src in sources:
            for dst in targets:
                address = dst["addresses"][-1].split("/")[0]
                result = rig.run(src["name"], ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", address])
                match = RTT.search(result.stdout)
                ttl = rig.run(src["name"], ["ping", "-n", "-c", "1", "-W", "2", address]).stdout
                hops = re.search(r"ttl=(\d+)", ttl)
                ok = result.returncode == 0
                failures += not ok
                configured = _configured_rtt_ms(topo, src["name"], dst["name"]) if shaped else 0.0
                print(f"   {src['name']:<8} {dst['name']:<8} {address:<15} "
                      f"{(65 - int(hops.group(1))) if hops else '?':>4} {configured:>7.2f} ms "
                      f"{match.group(2) if match else '-':>6} ms  {'ok' if ok else 'FAILED'}")
    finally:
        report = rig.down()
        print(f"== taken down: removed {len(report.namespaces)} namespaces")
    print("== demo passed" if not failures else f"== demo FAILED: {failures} pings failed")
    return 1 if failures else 0


def _configured_rtt_ms(topo: Topology, src: str, dst: str) -> float:
    """The delays the topology configures along the hop path, both directions (no jitter)."""
    total_us = 0.0
    for link, _ in hops(topo, src, dst):
        total_us += sum(d.us for d in (topo.impairment(link, "up").delay, topo.impairment(link, "down").delay) if d)
    return total_us / 1000


def _needs_vm(topology_path: str) -> bool:
    """A shaped topology on a kernel without netem: the demo then runs inside the VM."""
    from .backends.plan import plan_rig, shaped_ends
    from .host import kernel_supports_netem

    return bool(shaped_ends(plan_rig(load_topology(topology_path)))) and not kernel_supports_netem()


def _run_in_vm(topology_path: str, count: int) -> int:
    from .vm import run_in_vm

    print("== this kernel has no sch_netem: running the demo inside a VM with a stock kernel (testbed vm)",
          flush=True)
    result = run_in_vm([sys.executable, "-m", "testbed.demo", topology_path, "--count", str(count)],
                       cwd=os.getcwd(), timeout=900)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m testbed.demo", description=__doc__)
    parser.add_argument("topology", nargs="?", default="topologies/ward.yaml")
    parser.add_argument("--count", type=int, default=5, help="pings per pair (default 5)")
    args = parser.parse_args()
    try:
        if _needs_vm(args.topology):
            sys.exit(_run_in_vm(args.topology, args.count))
        sys.exit(run(args.topology, args.count))
    except TestbedError as exc:
        print(f"testbed: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
