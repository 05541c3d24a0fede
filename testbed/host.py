"""What the running kernel can do for a rig, found by trying it (not by reading config files).

sch_netem may be built in, a loadable module, or absent (this project's own CI kernels have
none); /sys/module/sch_netem only shows a module already loaded. So the probe tries: in a
child process that moves into a network namespace of its own (``unshare(CLONE_NEWNET)``, or
with a user namespace when not root), it creates a veth pair, attaches netem, tbf and htb
qdiscs and a VXLAN device with ``ip`` and ``tc``, the tools the rigs use. When the child exits
the kernel destroys its namespace and everything in it, even if the child is killed: no name
in /run/netns, nothing to clean up. The one lasting effect is that a loadable sch_netem (or
sch_tbf, ...) gets loaded, as it would be by the first shaped rig.

``capabilities()`` adds what is needed to run elsewhere what cannot run here: root, KVM, and
whether the netem VM (testbed.vm) can be booted. ``testbed doctor`` prints it.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import subprocess
import sys
from typing import Any

PROBE_TIMEOUT = 60.0  # seconds; generous because the probe also runs inside a TCG VM
FEATURES = ("netns", "veth", "vxlan", "htb", "tbf", "netem")
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000


@functools.cache
def kernel_supports_netem() -> bool:
    """Whether this kernel can attach a netem qdisc (loading the module if it can)."""
    return _probe()["netem"][0] is True


@functools.cache
def capabilities() -> dict[str, Any]:
    """What this host can do, as plain data (``testbed doctor --json`` prints it).

    Keys: ``kernel`` (release), ``root``; ``netns``, ``veth``, ``vxlan``, ``htb``, ``tbf``,
    ``netem`` (True, False, or None when it could not be tried); ``kvm`` (the VM can use it),
    ``vm`` (the netem VM can boot), ``vm_accel`` ("kvm"/"tcg"), ``vm_kernel`` (its version or
    None), ``vm_kernel_netem`` (that kernel ships sch_netem); ``details``: a sentence per key.
    """
    from .errors import HostUnsuitable
    from .vm.prereq import find_vm_tools, kvm_accel

    probe = _probe()
    caps: dict[str, Any] = {"kernel": os.uname().release, "root": os.geteuid() == 0}
    details: dict[str, str] = {}
    for feature in FEATURES:
        caps[feature], details[feature] = probe[feature]
    accel = kvm_accel()
    caps["kvm"] = accel.name == "kvm"
    details["kvm"] = accel.reason
    try:
        if os.environ.get("TESTBED_IN_VM"):
            raise HostUnsuitable("this is the testbed VM already: no VM is booted inside it")
        tools = find_vm_tools()
    except HostUnsuitable as exc:
        caps.update(vm=False, vm_accel=None, vm_kernel=None, vm_kernel_netem=None)
        details["vm"] = str(exc)
    else:
        netem = tools.kernel.has_module("sch_netem")
        caps.update(vm=True, vm_accel=tools.accel.name, vm_kernel=tools.kernel.version, vm_kernel_netem=netem)
        details["vm"] = (f"virtme-ng {tools.virtme_version} boots {tools.kernel.image} under "
                         f"{tools.accel.name.upper()}" + ("" if netem else ", but that kernel has no sch_netem"))
    caps["details"] = details
    return caps


@functools.cache
def _probe() -> dict[str, tuple[bool | None, str]]:
    """Each feature: (works, how we know), from the child process (see module docstring)."""
    try:
        done = subprocess.run([sys.executable, "-m", "testbed.host", "--probe"], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT)
        found = {k: (v[0], v[1]) for k, v in json.loads(done.stdout).items()}
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        found = {"netns": (None, f"the probe did not run: {exc}")}
    netns = found.get("netns", (None, "the probe gave no answer"))
    untried = netns[1] if netns[0] is not True else "not tried"
    result = {f: found.get(f, (None, untried)) for f in FEATURES}
    if result["netem"][0] is not True:
        result["netem"] = _netem_fallback(result["netem"])
    return result


def _netem_fallback(tried: tuple[bool | None, str]) -> tuple[bool | None, str]:
    """When trying failed, what the module files say (a loaded module proves support)."""
    if os.path.isdir("/sys/module/sch_netem"):
        return True, "sch_netem is loaded"
    if tried[0] is False:
        return tried
    try:
        with open(f"/lib/modules/{os.uname().release}/modules.dep", encoding="utf-8") as deps:
            listed = any("/sch_netem.ko" in line.split(":", 1)[0] for line in deps)
    except OSError:
        listed = False
    if listed:
        return None, f"sch_netem is a loadable module, but it could not be tried ({tried[1]})"
    return tried


def _child_probe() -> dict[str, tuple[bool | None, str]]:
    """Runs in the child: a namespace of its own, then each feature tried with ip and tc."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWNET | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        reason = os.strerror(ctypes.get_errno())
        how = "" if os.geteuid() == 0 else " (not root, and user namespaces are not allowed)"
        return {"netns": (False, f"cannot create a network namespace: {reason}{how}")}
    if flags & CLONE_NEWUSER:  # be root inside the user namespace, so ip and tc keep their capabilities
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w", encoding="ascii") as handle:
                handle.write(text)
    results: dict[str, tuple[bool | None, str]] = {"netns": (True, "a network namespace can be created")}

    def attempt(argv: list[str], success: str) -> tuple[bool | None, str]:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT / 4)
        except FileNotFoundError:
            return None, f"{argv[0]} is not installed (apt-get install iproute2)"
        except subprocess.TimeoutExpired:
            return None, f"`{' '.join(argv)}` did not finish"
        if done.returncode == 0:
            return True, success
        return False, f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip() or done.returncode}"

    attempt(["ip", "link", "set", "lo", "up"], "")
    results["veth"] = attempt(["ip", "link", "add", "tbprobe0", "type", "veth", "peer", "name", "tbprobe1"],
                              "veth pairs can be created")
    first, second = ("tbprobe0", "tbprobe1") if results["veth"][0] else ("lo", "lo")
    results["netem"] = attempt(["tc", "qdisc", "replace", "dev", first, "root", "netem", "delay", "1ms"],
                               "a netem qdisc can be attached")
    results["htb"] = attempt(["tc", "qdisc", "replace", "dev", first, "root", "handle", "1:", "htb", "default", "1"],
                             "an htb qdisc can be attached")
    results["tbf"] = attempt(["tc", "qdisc", "replace", "dev", second, "root", "tbf", "rate", "1mbit",
                              "burst", "32kbit", "latency", "50ms"], "a tbf qdisc can be attached")
    results["vxlan"] = attempt(["ip", "link", "add", "tbprobe-vx", "type", "vxlan", "id", "42", "dstport", "4789"],
                               "VXLAN devices can be created")
    return results


if __name__ == "__main__" and sys.argv[1:] == ["--probe"]:
    print(json.dumps(_child_probe()))
