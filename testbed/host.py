"""What the running kernel can do for a rig, found by trying it (not by reading config files).

sch_netem may be built in, a loadable module, or absent (this project's own CI kernels have
none); /sys/module/sch_netem only shows a module already loaded. So the probe makes a
throwaway namespace with a veth pair (the device rigs use), tries to attach a netem qdisc, and removes the
namespace again whatever happens.
"""

from __future__ import annotations

import functools
import os
import secrets
import subprocess


@functools.cache
def kernel_supports_netem() -> bool:
    """Whether this kernel can attach a netem qdisc (loading the module if it can)."""
    return _qdisc_works(["netem", "delay", "1ms"])


def _qdisc_works(qdisc: list[str]) -> bool:
    if os.geteuid() != 0:
        return os.path.exists("/sys/module/sch_" + qdisc[0])  # the best a non-root probe can say
    subprocess.run(["modprobe", "-q", "sch_" + qdisc[0]], capture_output=True)
    netns = f"testbed-probe-{secrets.token_hex(4)}"
    try:
        if subprocess.run(["ip", "netns", "add", netns], capture_output=True).returncode != 0:
            return False
        steps = [["ip", "-n", netns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"],
                 ["tc", "-n", netns, "qdisc", "add", "dev", "probe0", "root", *qdisc]]
        return all(subprocess.run(step, capture_output=True).returncode == 0 for step in steps)
    finally:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)
