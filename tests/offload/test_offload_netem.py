"""Offload on shaped radio links (real netem): orderings the model predicts, and the policy's choice.

Three devices share a gNB in front of the edge: ``slow`` on LTE as measured (36 Mbit/s up, 18 ms
RTT) and ``nr`` on the NR URLLC target (1 ms RTT, no rate limit), both with a full CPU, so their
probes compare the links alone; ``fast`` on NR URLLC too with a quarter of a CPU: 2.5 ms of quota
per 10 ms CFS period (testbed.backends.cpu). The heavy task is sized on this machine to need at
least twice that quota, so its local runs are throttled whether the CPU is native or TCG's twenty
times slower one (a task that fits in one period's quota runs at full speed and would prove
nothing), and stays cheap in the VM.
Only orderings are asserted: under TCG (tests/kernel runs these in a VM) times are coarse.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.edge.offload import tasks
from devices.mec import workload
from testbed.backends.cpu import quota
from testbed.backends.emulated import EmulatedRig, clean
from testbed.offload.campaign import (
    CampaignResult,
    CampaignSpec,
    LoadResult,
    Worker,
    calibrate,
    edge_address,
    run_campaign,
    start_worker,
)
from testbed.topology import Topology, parse_topology

pytestmark = [pytest.mark.root, pytest.mark.netem]

RADIO = """
name: {name}
nodes:
  slow: {{role: sensor}}
  nr: {{role: sensor}}
  fast: {{role: sensor, cpu: {cpu}}}
  gnb: {{role: router}}
  edge: {{role: edge}}
links:
  - {{endpoints: [slow, gnb], profile: lte-measured, both: {{limit: 10000}}}}
  - {{endpoints: [nr, gnb], profile: nr-urllc-target}}
  - {{endpoints: [fast, gnb], profile: nr-urllc-target}}
  - {{endpoints: [gnb, edge], profile: metro-fiber}}
"""
BIG_LIGHT = {"kind": "arrhythmia", "size": 20000}  # 140 kB of RR intervals, a few ms of compute
FAST_CPU = 0.25
CFS_PERIOD_S = quota(FAST_CPU)[1] / 1e6


def heavy_task() -> dict[str, Any]:
    """ECG analysis long enough to need two CFS periods' quota of ``FAST_CPU`` on this machine."""
    data = workload.make_input("ecg_analyse", 10)
    started = time.perf_counter()
    tasks.run("ecg_analyse", data)
    per_second = (time.perf_counter() - started) / 10
    return {"kind": "ecg_analyse", "size": round(max(4.0, 2 * FAST_CPU * CFS_PERIOD_S / per_second), 2)}

_names = itertools.count()


@pytest.fixture(scope="module")
def radio() -> Iterator[tuple[EmulatedRig, Topology, Path]]:
    run_dir = Path(tempfile.mkdtemp(prefix="tbn", dir="/dev/shm"))
    old = os.environ.get("TESTBED_RUN_DIR")
    os.environ["TESTBED_RUN_DIR"] = str(run_dir)
    name = f"n{os.getpid() % 100000}x{next(_names)}"
    topo = parse_topology(RADIO.format(name=name, cpu=FAST_CPU), "<radio>")
    try:
        yield EmulatedRig.up(topo, name), topo, run_dir
    finally:
        clean(name)
        shutil.rmtree(run_dir, ignore_errors=True)
        if old is None:
            os.environ.pop("TESTBED_RUN_DIR", None)
        else:
            os.environ["TESTBED_RUN_DIR"] = old


def campaign(radio: tuple[EmulatedRig, Topology, Path], worker: Worker, device: str, task: dict[str, Any],
             count: int) -> CampaignResult:
    """Tasks decided by the device's policy, each also run on the other side to compare."""
    rig, topo, run_dir = radio
    spec = CampaignSpec(device, kind=task["kind"], size=task["size"], count=count, mode="auto", measure_both=True)
    result = run_campaign(rig, topo, spec, run_dir / device, worker)
    records = result.loads[0].records
    assert all(r["status"] == "ok" and r["edge"] is not None and r["local_s"] for r in records), records
    return result


def mean_edge(load: LoadResult, term: str) -> float:
    return statistics.mean(r["edge"][term] for r in load.records)


def mean_local(load: LoadResult) -> float:
    return statistics.mean(r["local_s"] for r in load.records)


def test_policy_orders_local_and_edge_as_the_links_and_cpus_do(radio: tuple[EmulatedRig, Topology, Path]) -> None:
    rig, _, run_dir = radio
    worker = start_worker(rig, "edge", edge_address(rig, "edge"), 1, 16, run_dir / "worker.log")
    try:
        slow = campaign(radio, worker, "slow", BIG_LIGHT, count=3)
        fast = campaign(radio, worker, "fast", heavy_task(), count=2)
        nr = calibrate(rig, "nr", worker.url, "arrhythmia", 500)
    finally:
        worker.target.stop()
    # Upload: the same probe payloads take longer up the LTE profile than up the NR URLLC one,
    # in the topology's prediction and in the devices' own measurement.
    assert slow.path.uplink_bps < fast.path.uplink_bps and slow.path.rtt_s > fast.path.rtt_s
    assert slow.calibration.link.uplink_bps < nr.link.uplink_bps
    assert slow.calibration.link.rtt_s > nr.link.rtt_s
    big = slow.loads[0]
    assert mean_edge(big, "upload_s") >= 0.9 * big.predicted.upload_s  # netem cannot make it faster
    # A big, light task on the slow uplink: the model says local, the policy keeps it local, and
    # running it both ways shows local was faster.
    assert big.predicted.local_s < big.predicted.total_s
    assert all(r["where"] == "local" for r in big.records), [r["decision"] for r in big.records]
    assert mean_local(big) < mean_edge(big, "total_s")
    # Heavy compute from a quarter-CPU device over the fast link: edge, by the model, the policy and the clock.
    heavy = fast.loads[0]
    assert heavy.predicted.total_s < heavy.predicted.local_s
    assert all(r["where"] == "edge" for r in heavy.records), [r["decision"] for r in heavy.records]
    assert mean_edge(heavy, "total_s") < mean_local(heavy)
