"""CPU quotas on nodes (cgroup v1 or v2, whichever this host has), against the real kernel."""

from __future__ import annotations

import itertools
import os
import shutil
import sys

import pytest

from testbed.backends.cpu import quota, rig_cgroup
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


# A short burst of work after an idle spell, timed inside the process: the interpreter's
# start-up has used its quota by then and the quota has refilled.
SHORT = ("import sys, time\nn = int(sys.argv[1])\ntime.sleep(0.3)\nstart = time.perf_counter()\n"
         "x = 0\nfor _ in range(n): x += 1\nprint(time.perf_counter() - start)")


def short_task_s(rig: EmulatedRig, node: str, n: int) -> float:
    return float(rig.run(node, [sys.executable, "-c", SHORT, str(n)], check=True).stdout)


def test_a_short_task_on_a_limited_node_runs_at_its_share_not_in_a_full_speed_burst(rig) -> None:
    """15 ms of work is less than a 100 ms period's quota at 0.2 CPU (20 ms): with such a period
    it would run at full speed; a Pi-class device is slow for short tasks too."""
    n = 200_000
    n = max(10_000, round(n * 0.015 / short_task_s(rig, "edge", n)))  # about 15 ms unlimited
    free = min(short_task_s(rig, "edge", n) for _ in range(3))
    limited = min(short_task_s(rig, "pi", n) for _ in range(3))
    assert limited >= 3 * free, f"{limited * 1e3:.1f} ms on the 0.2-CPU node vs {free * 1e3:.1f} ms unlimited"


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


def test_quota_uses_a_short_period_stretched_where_the_share_is_below_the_kernel_s_1_ms() -> None:
    assert quota(0.5) == (5_000, 10_000)
    assert quota(4) == (40_000, 10_000)
    assert quota(0.05) == (1_000, 20_000)
    assert quota(0.01) == (1_000, 100_000)
