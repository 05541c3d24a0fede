"""CPU quotas on nodes (cgroup v1 or v2, whichever this host has), against the real kernel."""

from __future__ import annotations

import itertools
import os
import shutil
import sys

import pytest

from testbed.backends.cpu import rig_cgroup
from testbed.backends.emulated import EmulatedRig, clean
from testbed.topology import parse_topology

pytestmark = pytest.mark.root
_names = itertools.count()

# CPU time of the loop alone: interpreter start-up, which also costs CPU, is left out.
BUSY = ("import time\nstart = time.process_time()\nend = time.monotonic() + 1.0\n"
        "while time.monotonic() < end: pass\nprint(time.process_time() - start)")


@pytest.fixture(autouse=True)
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TESTBED_RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


@pytest.fixture
def rig():
    name = f"c{os.getpid() % 100000}x{next(_names)}"
    text = (f"name: {name}\nnodes:\n  pi: {{role: sensor, cpu: 0.2}}\n  edge: {{role: edge}}\n"
            "links:\n  - endpoints: [pi, edge]\n")
    up = EmulatedRig.up(parse_topology(text, "cpu.yaml"), name)
    yield up
    clean(name)


def cpu_seconds_in_one_wall_second(rig: EmulatedRig, node: str) -> float:
    return float(rig.run(node, [sys.executable, "-c", BUSY], check=True).stdout)


def test_a_node_with_a_cpu_quota_gets_that_share_of_a_core(rig) -> None:
    limited = cpu_seconds_in_one_wall_second(rig, "pi")
    free = cpu_seconds_in_one_wall_second(rig, "edge")
    assert limited <= 0.3, f"pi used {limited:.2f} s of CPU in 1 s with a 0.2 CPU quota"
    assert free >= 1.8 * limited, (free, limited)
    assert (rig_cgroup(rig.name) / "pi").is_dir()
    assert not (rig_cgroup(rig.name) / "edge").exists()  # no quota, no cgroup


def test_down_removes_the_rigs_cgroups(rig) -> None:
    path = rig_cgroup(rig.name)
    assert path.is_dir()
    rig.down()
    assert not path.exists()
    others = [p for p in path.parent.iterdir() if p.is_dir()] if path.parent.exists() else []
    assert path.parent.exists() == bool(others)  # testbed/ itself goes with the last rig's cgroups


def test_clean_removes_cgroups_left_without_a_run_directory(rig, run_dir) -> None:
    path = rig_cgroup(rig.name)
    shutil.rmtree(run_dir)
    clean(rig.name)
    assert not path.exists()
