"""The integrity checks on a single-hospital Deployment (ward.yaml, unshaped, no witnesses): (a), (b), (c)
and (e) hold after a short stream; (d) is left out because a Deployment runs no witnesses."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from testbed.agents import CheckpointSampler, Deployment, log_of
from testbed.agents.integrity import all_checks, stats_of
from testbed.backends.emulated import EmulatedRig, clean
from testbed.backends.netns import list_netns
from testbed.topology.loader import load_topology

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.root
def test_a_deployment_passes_the_checks_without_witnesses(monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="tbw", dir="/dev/shm"))
    monkeypatch.setenv("TESTBED_RUN_DIR", str(run_dir))
    name = f"w{os.getpid() % 100000}"
    try:
        rig = EmulatedRig.up(load_topology(REPO / "topologies" / "ward.yaml"), name, shaping=False)
        with Deployment(rig, {"ecg1": "ecg", "spo2": "spo2"}) as d:
            log = log_of(d)
            with CheckpointSampler(log, period=0.7) as sampler:
                time.sleep(3)
                d.stop_agents()
            verdicts = all_checks(log, stats_of(d), sampler.notes, sample=16)
        print("\n".join(map(str, verdicts)))
        assert [v.check for v in verdicts if v.holds] == [v.check for v in verdicts] and len(verdicts) == 4, verdicts
        assert log.witnesses == () and verdicts[1].checked["proofs"] == 16
    finally:
        clean(name)
        shutil.rmtree(run_dir, ignore_errors=True)
        assert not [ns for ns in list_netns() if ns.startswith(f"tb-{name}-")]
