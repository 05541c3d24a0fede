"""Offload campaigns on an emulated rig: every term recorded and adding up, forced modes honoured.

Unshaped here (runs on the host as root); the shaped orderings are in test_offload_netem.py.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.backends.emulated import EmulatedRig, clean
from testbed.offload.campaign import CampaignSpec, run_campaign
from testbed.offload.predict import path_figures
from testbed.topology import Topology, parse_topology

CHAIN = """
name: {name}
nodes:
  dev: {{role: sensor, cpu: 0.2}}
  gnb: {{role: router}}
  edge: {{role: edge}}
links:
  - {{endpoints: [dev, gnb]}}
  - {{endpoints: [gnb, edge]}}
"""
CLOCK_TOLERANCE_S = 1e-6  # the terms telescope: their sum is the total up to rounding
_names = itertools.count()


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EmulatedRig, Topology, Path]]:
    run_dir = Path(tempfile.mkdtemp(prefix="tbo", dir="/dev/shm"))
    monkeypatch.setenv("TESTBED_RUN_DIR", str(run_dir))
    name = f"o{os.getpid() % 100000}x{next(_names)}"
    topo = parse_topology(CHAIN.format(name=name), "<chain>")
    try:
        yield EmulatedRig.up(topo, name, shaping=False), topo, run_dir
    finally:
        clean(name)
        shutil.rmtree(run_dir, ignore_errors=True)


def test_path_figures_of_an_unshaped_chain() -> None:
    topo = parse_topology(CHAIN.format(name="p"), "<chain>")
    path = path_figures(topo, "dev", "edge")
    assert path.nodes == ("dev", "gnb", "edge")
    assert path.rtt_s == 0 and path.uplink_bps == path.downlink_bps == float("inf")


@pytest.mark.root
def test_campaign_records_every_term_and_they_add_up(chain: tuple[EmulatedRig, Topology, Path]) -> None:
    rig, topo, run_dir = chain
    spec = CampaignSpec("dev", kind="ecg_analyse", size=30, count=6, mode="edge", loads=(0.0, 0.5))
    result = run_campaign(rig, topo, spec, run_dir / "campaign")
    assert [r.rho for r in result.loads] == [0.0, 0.5]
    for load in result.loads:
        assert len(load.records) == 6 and all(r["status"] == "ok" and r["where"] == "edge" for r in load.records)
        for record in load.records:
            terms = record["edge"]
            assert all(terms[t] >= -CLOCK_TOLERANCE_S for t in ("upload_s", "queue_s", "compute_s", "download_s"))
            parts = terms["upload_s"] + terms["queue_s"] + terms["compute_s"] + terms["download_s"]
            assert parts == pytest.approx(terms["total_s"], abs=CLOCK_TOLERANCE_S)
            assert (record["local_s"] is not None) == (load.rho == 0)  # the comparison runs only unloaded
            assert record["decision"]["offload_s"] > 0 and record["decision"]["local_s"] > 0
        figures = load.figures()
        for term in ("upload_s", "queue_s", "compute_s", "download_s", "total_s"):
            assert figures[term]["measured"]["n"] == 6 and figures[term]["predicted"] >= 0, term
        assert figures["local_s"]["predicted"] > 0
    # The device has a fifth of a CPU, less than the task needs per CFS period: it runs slower there.
    idle = result.loads[0].figures()
    assert idle["local_s"]["measured"]["mean"] > idle["compute_s"]["measured"]["mean"]
    assert result.loads[1].arrival > 0 and result.loads[1].predicted.queue_s > 0


@pytest.mark.root
def test_forced_local_mode_runs_on_the_device_only(chain: tuple[EmulatedRig, Topology, Path]) -> None:
    rig, topo, run_dir = chain
    spec = CampaignSpec("dev", kind="arrhythmia", size=2000, count=4, mode="local", measure_both=False)
    load = run_campaign(rig, topo, spec, run_dir / "campaign").loads[0]
    assert [r["where"] for r in load.records] == ["local"] * 4
    assert all(r["edge"] is None and r["local_s"] > 0 and r["decision"]["forced"] for r in load.records)
    assert load.summary["edge"] == 0 and load.summary["local"] == 4
