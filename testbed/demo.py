"""The demo behind ``make demo``: the whole product on one topology, end to end.

Brings the ward up (inside a VM with a stock kernel when this kernel lacks netem), pings
across it (configured vs measured round trips), runs the bedside devices against the edge
ledger for about a minute, half of it on the topology's own radio profile and half on LTE,
checks the chain (every record once, inclusion proofs, consistency, a tampered copy caught),
runs a short offload campaign (local vs edge, measured against the model), writes a results
directory and its HTML report, prints a table, and takes the rig down.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .agents import Deployment
from .agents.integrity import CheckpointSampler, Verdict, all_checks, log_of, stats_of
from .agents.rates import LedgerRates, ledger_rates
from .agents.sensors import LIGHT_SIGNALS
from .agents.stats import AgentStats, percentile
from .backends.emulated import EmulatedRig
from .errors import TestbedError
from .measure import Recorder
from .measure.results import ResultEntry, ResultsWriter
from .topology import Topology, load_topology
from .topology.access import access_links, profile_directions
from .topology.paths import hops, one_way_delay_us, one_way_jitter_us

RTT = re.compile(r"rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)")
SECOND_PROFILE = "lte-measured"
CLEAR_MARGIN = 1.2  # the offload verdict is judged only when one side is at least 20 % faster
KINDS = ("ecg", "spo2", "nibp", "infusion")


@dataclass
class Phase:
    profile: str
    start_ns: int
    end_ns: int


def device_kinds(topo: Topology) -> dict[str, str]:
    """Each sensor node runs the agent its name starts with (ecg1 -> ecg); ECG when none matches."""
    return {name: next((k for k in KINDS if name.startswith(k)), "ecg")
            for name, node in topo.nodes.items() if node.role == "sensor"}


def configured_rtt_ms(rig: EmulatedRig, src: str, dst: str) -> tuple[float, float]:
    """The delays the rig's links are set to along the path, both ways, and their jitter's spread."""
    topo, now = rig.topology, rig.impairment
    assert topo is not None
    delay = one_way_delay_us(topo, src, dst, now) + one_way_delay_us(topo, dst, src, now)
    spread = math.hypot(one_way_jitter_us(topo, src, dst, now), one_way_jitter_us(topo, dst, src, now))
    return delay / 1000, spread / 1000


def ping_table(rig: EmulatedRig, rec: Recorder, count: int) -> int:
    sources = [n for n in rig.state["nodes"] if n["role"] == "sensor"]
    targets = [n for n in rig.state["nodes"] if n["role"] in ("edge", "cloud")]
    print(f"== ping, {count} packets each (configured = the delays set on the path, both ways)")
    print(f"   {'from':<8} {'to':<8} {'hops':>4} {'configured':>10} {'measured':>9}  result")
    failures = 0
    for src in sources:
        for dst in targets:
            address = dst["addresses"][-1].split("/")[0]
            done = rig.run(src["name"], ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", address])
            match = RTT.search(done.stdout)
            configured, spread = configured_rtt_ms(rig, src["name"], dst["name"])
            hop_count = len(hops(rig.topology, src["name"], dst["name"])) if rig.topology else 0
            failures += done.returncode != 0
            measured = float(match.group(2)) if match else None
            # the mean of `count` round trips lies within 4 standard deviations of the configured
            # delay but for about 1 in 30,000 (jitter spreads it; nothing makes it shorter)
            floor = 0.9 * configured - 4 * spread / math.sqrt(count)
            rec.record(f"rtt.{src['name']}.{dst['name']}", measured, "ms", low=max(0.0, floor),
                       section="link", link=f"{src['name']} -> {dst['name']}", direction="round trip",
                       configured=round(configured, 3), jitter=round(spread, 3))
            print(f"   {src['name']:<8} {dst['name']:<8} {hop_count:>4} {configured:>7.2f} ms "
                  f"{measured if measured is not None else '-':>6} ms  {'ok' if done.returncode == 0 else 'FAILED'}")
    return failures


def shape_access(rig: EmulatedRig, profile: str) -> None:
    assert rig.topology is not None
    up, down = profile_directions(rig.topology, profile)
    for link in access_links(rig.topology):
        rig.set_shaping(link, {"up": up, "down": down})


def stream(rig: EmulatedRig, kinds: Mapping[str, str], seconds: float) -> tuple[dict[str, AgentStats], list[Phase],
                                                                                 list[Verdict], LedgerRates]:
    """Devices stream for ``seconds``: the first half on the topology's profile, the second on LTE."""
    assert rig.topology is not None
    links = access_links(rig.topology)
    first = rig.topology.links[[lk.name for lk in rig.topology.links].index(links[0])].profile or "as configured"
    with Deployment(rig, dict(kinds), signals=LIGHT_SIGNALS) as d:
        log = log_of(d)
        sampler = CheckpointSampler(log, period=1.0).start()
        try:
            t0 = time.time_ns()
            time.sleep(seconds / 2)
            shape_access(rig, SECOND_PROFILE)
            t1 = time.time_ns()
            time.sleep(seconds / 2)
            d.stop_agents()
            t2 = time.time_ns()
        finally:
            notes = sampler.stop()
        stats = stats_of(d)
        verdicts = all_checks(log, stats, notes, sample=32, seed=1)
        rates = ledger_rates(log, stats)
    return stats, [Phase(first, t0, t1), Phase(SECOND_PROFILE, t1, t2)], verdicts, rates


def record_latency(rec: Recorder, stats: Mapping[str, AgentStats], phases: list[Phase]) -> list[list[str]]:
    rows = []
    for device, s in stats.items():
        for phase in phases:
            acks = [a for a in s.acks if phase.start_ns <= a.capture_ns < phase.end_ns]
            if not acks:
                continue
            values = [(a.ack_ns - a.capture_ns) / 1e6 for a in acks]
            rec.distribution(f"latency.{device}.{phase.profile}", values, "ms",
                             times=[a.capture_ns / 1e9 for a in acks], section="latency", device=device,
                             profile=phase.profile, description="capture -> ack")
            ordered = sorted(values)
            rows.append([device, phase.profile, str(len(values)), f"{percentile(ordered, 50):.1f}",
                         f"{percentile(ordered, 99):.1f}"])
    return rows


def run(topology_path: str, seconds: float, results: Path, count: int, report: bool = True) -> int:
    topo = load_topology(topology_path)
    print(f"== bringing up {topo.name!r} from {topology_path}: {len(topo.nodes)} nodes, {len(topo.links)} links")
    rig = EmulatedRig.up(topo, f"demo-{topo.name}"[:24])
    writer = ResultsWriter(results, shlex.join(["python", "-m", "testbed.demo", *sys.argv[1:]]))
    writer.add_topology(topo, Path(topology_path).resolve(), rig.name)
    rec = Recorder({"topology": topo.name})
    failures = 0
    started = time.monotonic()
    try:
        print(f"== nodes (each a network namespace tb-{rig.name}-<node>)")
        for node in rig.state["nodes"]:
            print(f"   {node['name']:<8} {node['role']:<7} {', '.join(node['addresses']) or '(no links)'}")
        failures += ping_table(rig, rec, count)
        kinds = device_kinds(topo)
        print(f"== {len(kinds)} devices stream to the edge ledger for {seconds:.0f} s "
              f"(first half on the topology's radio profile, second half on {SECOND_PROFILE})", flush=True)
        stats, phases, verdicts, rates = stream(rig, kinds, seconds)
        rows = record_latency(rec, stats, phases)
        for v in verdicts:
            rec.check(f"integrity.{v.key}", v.holds, section="integrity", description=str(v))
        committed = sum(len({a.seq for a in s.acks}) for s in stats.values())
        rec.record("ledger.records_committed", committed, "records", low=1, section="ledger")
        rec.record("ledger.goodput", rates.goodput, "records/s", low=0.001, section="ledger",
                   description="records made durable per second, first send to last ack")
        rec.record("ledger.throughput", rates.throughput, "records/s", section="ledger",
                   description="records answered per second, accepted or refused")
        offload_lines = offload_verdict(rig, rec)
    finally:
        removed = rig.down()
        print(f"== taken down: removed {len(removed.namespaces)} namespaces")
    failed = rec.failed()
    writer.add(ResultEntry(f"demo::{topo.name}", "failed" if failed or failures else "passed",
                           time.monotonic() - started, topo.name, None,
                           "; ".join(m.verdict() for m in failed) or None,
                           [writer.measurement_entry(m) for m in rec.measurements]))
    writer.flush(finished=True)
    print_summary(rows, verdicts, committed, rates, offload_lines)
    if report:
        render(results)
    if failed or failures:
        print(f"== demo FAILED: {'; '.join(m.verdict() for m in failed) or f'{failures} pings failed'}")
        return 1
    print("== demo passed")
    return 0


def print_summary(rows: list[list[str]], verdicts: list[Verdict], committed: int, rates: LedgerRates,
                  offload: list[str]) -> None:
    print("== capture -> ack latency per device and profile")
    print(f"   {'device':<8} {'profile':<22} {'records':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for device, profile, n, p50, p99 in rows:
        print(f"   {device:<8} {profile:<22} {n:>7} {p50:>8} {p99:>8}")
    proofs = next((v.checked.get("proofs", 0) for v in verdicts if v.check.startswith("inclusion")), 0)
    print(f"== ledger: {committed} records committed, {proofs} inclusion proofs verified; goodput "
          f"{rates.goodput:.1f} records/s of {rates.throughput:.1f} answered/s")
    for v in verdicts:
        print(f"   {v}")
    for line in offload:
        print(line)


def offload_verdict(rig: EmulatedRig, rec: Recorder) -> list[str]:
    """A short offload campaign from the first sensor: the policy's choice, local vs edge, and the model."""
    from .backends import state
    from .offload.campaign import CampaignSpec, run_campaign

    assert rig.topology is not None
    device = next(name for name, node in rig.topology.nodes.items() if node.role == "sensor")
    spec = CampaignSpec(device=device, kind="ecg_analyse", size=20.0, count=4, mode="auto")
    print(f"== offload: {spec.count} ECG analyses ({spec.size:g} s of signal) from {device}, each run on the device "
          f"and on the edge; the policy decides from the model", flush=True)
    result = run_campaign(rig, rig.topology, spec, state.rig_dir(rig.name) / "offload")
    load = result.loads[0]
    figures = load.figures()
    lines = [f"== offload ({spec.kind} from {device}, radio {SECOND_PROFILE}): measured vs predicted, ms"]
    for term, figure in figures.items():
        measured = figure["measured"]
        if measured is None:
            continue
        name = term.removesuffix("_s")
        rec.record(f"offload.{name}", measured["mean"] * 1000, "ms", section="offload", term=name, load=0,
                   profile=SECOND_PROFILE, predicted=round(figure["predicted"] * 1000, 3))
        lines.append(f"   {name:<9} {measured['mean'] * 1000:>8.1f} {figure['predicted'] * 1000:>9.1f}")
    both = [r for r in load.records if r.get("local_s") is not None and r.get("edge")]
    local = sum(r["local_s"] for r in both) / max(1, len(both))
    edge = sum(r["edge"]["total_s"] for r in both) / max(1, len(both))
    faster = "local" if local < edge else "edge"
    chosen = "/".join(sorted({r["where"] for r in load.records}))
    place = {"local": "the device", "edge": "the edge", "edge/local": "both sides"}
    times = f"on the device {local * 1000:.1f} ms, on the edge {edge * 1000:.1f} ms"
    if max(local, edge) < CLEAR_MARGIN * min(local, edge):
        lines.append(f"   verdict: the policy ran the tasks on {place[chosen]}; measured, the two are within "
                     f"{CLEAR_MARGIN - 1:.0%} ({times}): either choice is right")
        return lines
    rec.check("offload.policy_chose_faster", chosen == faster, section="integrity",
              description=f"policy chose {chosen}; measured faster: {faster} ({times})")
    lines.append(f"   verdict: the policy ran the tasks on {place[chosen]}; measured, {place[faster]} was faster "
                 f"({times})" + (": it agrees" if chosen == faster else ": it DISAGREES"))
    return lines


def render(results: Path) -> None:
    from .report import write_report

    print(f"== HTML report: {write_report(results).resolve()}")


def _needs_vm(topology_path: str) -> bool:
    """A shaped topology on a kernel without netem: the demo then runs inside the VM."""
    from .backends.plan import plan_rig, shaped_ends
    from .host import kernel_supports_netem

    return bool(shaped_ends(plan_rig(load_topology(topology_path)))) and not kernel_supports_netem()


def _run_in_vm(argv: list[str], results: Path) -> int:
    """The demo in the VM; the report is drawn here afterwards (matplotlib is much faster outside TCG)."""
    from .vm import run_in_vm

    print("== this kernel has no sch_netem: running the demo inside a VM with a stock kernel (testbed vm)",
          flush=True)
    results.mkdir(parents=True, exist_ok=True)
    result = run_in_vm([sys.executable, "-m", "testbed.demo", *argv, "--no-report"], cwd=os.getcwd(), timeout=1200,
                       writable=sorted({os.getcwd(), str(results.resolve())}),
                       stdout=sys.stdout.buffer, stderr=sys.stderr.buffer)
    if (results / "results.json").exists():
        render(results)
    return result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m testbed.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topology", nargs="?", default="topologies/ward.yaml")
    parser.add_argument("--seconds", type=float, default=60, help="how long the devices stream (default 60)")
    parser.add_argument("--results", default="results/demo",
                        help="results directory; report.html is written there (default results/demo)")
    parser.add_argument("--count", type=int, default=3, help="pings per pair (default 3)")
    parser.add_argument("--no-report", action="store_true", help="write the results but not the HTML page")
    args = parser.parse_args()
    try:
        if _needs_vm(args.topology):
            sys.exit(_run_in_vm(sys.argv[1:], Path(args.results)))
        sys.exit(run(args.topology, args.seconds, Path(args.results), args.count, report=not args.no_report))
    except TestbedError as exc:
        print(f"testbed: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
