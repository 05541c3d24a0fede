"""CPU quotas for the processes of a node, so an emulated Pi-class device is as slow as one.

A node's ``cpu:`` (in CPUs: 0.25 is a quarter of one core) becomes a CFS bandwidth limit on a
cgroup of its own, ``testbed/<rig>/<node>`` under the cpu controller: cgroup v2
(``cpu.max``) where the host has it, v1 (``cpu.cfs_quota_us``) otherwise. Processes started
in the node join it; ``down`` and ``clean`` remove the rig's cgroups after its processes are
gone. Everything under ``testbed/`` is ours: nothing else is touched.

Why a short period: CFS hands out the quota per period, so a task that needs less than one
quota of CPU runs at full speed, and with the default 100 ms period a half-CPU node did a
40 ms task as fast as the edge (measured: 80 ms local against 156 ms predicted from its
sustained speed). A Pi is uniformly slow; a 10 ms period bounds the full-speed burst to the
quota (5 ms at half a CPU), so tasks of tens of ms see the share. The kernel's smallest
quota is 1 ms, so very small shares get a longer period instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import HostUnsuitable

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 10_000
MIN_QUOTA_US = 1_000  # the kernel refuses less


def quota(cpus: float) -> tuple[int, int]:
    """(quota, period) in µs for a share of ``cpus``: the short period, stretched for tiny shares."""
    period = max(PERIOD_US, round(MIN_QUOTA_US / cpus)) if cpus > 0 else PERIOD_US
    return max(MIN_QUOTA_US, round(cpus * period)), period


def _controller_root() -> tuple[Path, int]:
    """Where cpu cgroups live here, and the cgroup version."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        if "cpu" not in (CGROUP_ROOT / "cgroup.controllers").read_text().split():
            raise HostUnsuitable("cgroup v2 is mounted without the cpu controller; CPU quotas need it")
        return CGROUP_ROOT, 2
    if (CGROUP_ROOT / "cpu" / "cpu.cfs_quota_us").exists():
        return CGROUP_ROOT / "cpu", 1
    raise HostUnsuitable(f"no cpu cgroup controller under {CGROUP_ROOT} (neither v2 nor v1): "
                         "nodes with cpu: cannot be limited here")


def rig_cgroup(rig: str) -> Path:
    root, _ = _controller_root()
    return root / "testbed" / rig


def limit_node(rig: str, node: str, cpus: float) -> Path:
    """Create (or update) the node's cgroup with a quota of ``cpus`` CPUs; return its path."""
    root, version = _controller_root()
    path = root / "testbed" / rig / node
    if version == 2:
        _enable_cpu(root)  # usually on already; a fresh VM's root delegates nothing until asked
        for parent in (root / "testbed", root / "testbed" / rig):
            parent.mkdir(exist_ok=True)
            _enable_cpu(parent)
        path.mkdir(exist_ok=True)
        (path / "cpu.max").write_text("{} {}".format(*quota(cpus)))
    else:
        path.mkdir(parents=True, exist_ok=True)
        us, period = quota(cpus)
        (path / "cpu.cfs_quota_us").write_text("-1")  # so any period is accepted before the quota
        (path / "cpu.cfs_period_us").write_text(str(period))
        (path / "cpu.cfs_quota_us").write_text(str(us))
    return path


def _enable_cpu(path: Path) -> None:
    control = path / "cgroup.subtree_control"
    if "cpu" not in control.read_text().split():
        control.write_text("+cpu")


def join(path: Path, pid: int) -> None:
    """Move process ``pid`` into the cgroup at ``path``."""
    (path / "cgroup.procs").write_text(str(pid))


def remove_rig(rig: str) -> list[str]:
    """Remove the rig's cgroups (deepest first); their processes must be gone already."""
    try:
        top = rig_cgroup(rig)
    except HostUnsuitable:
        return []
    if not top.is_dir():
        return []
    removed = []
    for node in sorted(p for p in top.iterdir() if p.is_dir()):
        os.rmdir(node)
        removed.append(node.name)
    os.rmdir(top)
    try:
        os.rmdir(top.parent)  # the testbed/ level, once no rig has cgroups any more
    except OSError:
        pass  # another rig still has some
    return removed


def rigs_with_cgroups() -> list[str]:
    """Rigs that have cgroups of ours (``clean`` removes them too)."""
    try:
        root, _ = _controller_root()
    except HostUnsuitable:
        return []
    base = root / "testbed"
    return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
