"""A first step for the VM's init that makes a TCG boot take seconds, not tens of seconds.

virtme-ng's init (virtme-ng-init, PID 1 in the guest) starts systemd-udevd whenever it finds
one and waits for the coldplug to settle: udev loads a driver for every emulated device (SATA,
watchdog, kvm_amd, crypto...). Under TCG that took 6-20 s of a 13-30 s boot on the CI machine,
more than everything else together, and nothing the tests run needs it: they create their own
namespaces, veths and qdiscs and load sch_netem themselves. systemd-tmpfiles, which init also
runs, cost another ~1 s for directories the tests do not use.

virtme-ng has no switch for either, and init looks udevd up at fixed paths, so this shim runs
first (as PID 1, on the read-only 9p root, before virtme-ng-init sets anything up):

- it hides ``/usr/lib/systemd/systemd-udevd`` and ``/usr/bin/systemd-tmpfiles`` behind a
  read-only overlay of /usr whose top layer holds only whiteouts (the files are untouched on
  the host; virtme-ng-init's own writable overlay of /usr stacks on top of this one);
- it does the one job of udev that init relies on: the ``/dev/virtio-ports/<name>`` links by
  which the command's stdin, stdout, stderr and exit code reach the host (udev's rule in
  50-udev-default.rules). devtmpfs is one instance however often it is mounted, so the
  links are still there when init mounts /dev again;
- it mounts the host folders holding this Python (prefix, stdlib, site-packages; see
  ``python_dirs``) from extra 9p exports with ``cache=loose``. virtme-ng mounts the root with
  no caching, so every lookup is a round trip through emulated virtio: ``python -c pass`` took
  2.9 s and ``import pyroute2`` 9 s; cached, 1.0 s and 4.6 s. These folders are read-only and
  do not change while the VM runs; the working directory stays uncached (it is shared
  read-write with the host);
- then it execs the real virtme-ng-init with the kernel's arguments and environment.

Every step tolerates failure: at worst udev runs as before. The shim is written per run into
the run's temporary folder (the guest sees the host's /tmp), with links to the rest of
virtme-ng's guest tools, and virtme-run is pointed at that folder (see _launch.py).

Consequence for commands in the VM: nothing autoloads drivers for hardware (there is none
worth having), ``/dev/virtio-ports`` is all udev leaves behind, and systemd-udevd and
systemd-tmpfiles are not there to run. Use ``modprobe`` for modules such as tun
(``/dev/net/tun``); sch_netem loads by itself when a netem qdisc is first added.
"""

from __future__ import annotations

import os
import shlex
import site
import sys
from collections.abc import Sequence
from pathlib import Path

SHIM = """\
#!{busybox_path} sh
# testbed's first step of the VM's init; see testbed/vm/guest.py for why.
b={busybox}
$b mount -t sysfs sysfs /sys
$b mount -t devtmpfs devtmpfs /dev
{cached_mounts}$b mount -t tmpfs -o mode=0755 testbed-init /run
$b mkdir -p /run/hide/lib/systemd /run/hide/bin /dev/virtio-ports
$b mknod /run/hide/lib/systemd/systemd-udevd c 0 0
$b mknod /run/hide/bin/systemd-tmpfiles c 0 0
$b mount -t overlay -o ro,lowerdir=/run/hide:/usr testbed-usr /usr
tries=0
while [ $tries -lt 100 ]; do
  named=1
  for port in /sys/class/virtio-ports/vport*; do
    name=
    [ -r "$port/name" ] && read -r name < "$port/name"
    [ -n "$name" ] || named=0
  done
  [ -e "$port" ] && [ $named = 1 ] && break
  tries=$((tries + 1))
  $b sleep 0.05
done
for port in /sys/class/virtio-ports/vport*; do
  name=
  [ -r "$port/name" ] && read -r name < "$port/name"
  [ -n "$name" ] && $b ln -sf "../${{port##*/}}" "/dev/virtio-ports/$name"
done
$b umount /dev
$b umount /sys
exec {init} "$@"
"""


CACHED_MOUNT = ("$b mount -t 9p -o ro,trans=virtio,version=9p2000.L,access=any,msize=512000,cache=loose "
                "{tag} {path}\n")


def python_dirs(overlaid: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """The host folders to export cached so this interpreter starts fast in the guest.

    Each folder of the interpreter (prefixes, stdlib, site-packages, sys.path) is replaced by
    the overlaid top folder holding it (``/usr`` for /usr/lib/python3.11), because virtme-ng's
    overlay of /usr would hide a mount below it but stacks on a mount at /usr itself. Folders
    inside ``exclude`` (shared read-write) or holding one of them, and "/", are left out.
    """
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(),
             *(p for p in sys.path if p and os.path.isdir(p))}
    roots = set()
    for path in (os.path.realpath(p) for p in found):
        top = next((o for o in overlaid if path == o or path.startswith(o.rstrip("/") + "/")), path)
        roots.add(top)
    keep: list[str] = []
    for root in sorted(roots):
        if root == "/" or "," in root or not os.path.isdir(root):
            continue
        if any(_within(root, e) or _within(e, root) for e in exclude):
            continue
        if any(_within(root, k) for k in keep):
            continue
        keep.append(root)
    return keep


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def write_guest_tools(folder: Path, virtme_guest_tools: Path, busybox: str,
                      cached: Sequence[tuple[str, str]] = ()) -> Path:
    """A copy of virtme-ng's guest tools folder whose bin/virtme-ng-init is the shim.

    Everything else is a symlink to the original (virtme-ng-init finds its helper scripts
    relative to its own, real, path). ``cached`` lists (9p mount tag, folder) pairs the shim
    mounts with caching. Returns the folder.
    """
    real_init = virtme_guest_tools / "bin" / "virtme-ng-init"
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    for entry in virtme_guest_tools.iterdir():
        if entry.name not in ("bin", "__pycache__"):
            (folder / entry.name).symlink_to(entry)
    for entry in (virtme_guest_tools / "bin").iterdir():
        if entry.name != "virtme-ng-init":
            (folder / "bin" / entry.name).symlink_to(entry)
    shim = folder / "bin" / "virtme-ng-init"
    mounts = "".join(CACHED_MOUNT.format(tag=shlex.quote(tag), path=shlex.quote(path)) for tag, path in cached)
    shim.write_text(SHIM.format(busybox_path=busybox, busybox=shlex.quote(busybox), init=shlex.quote(str(real_init)),
                                cached_mounts=mounts), encoding="utf-8")
    os.chmod(shim, 0o755)
    return folder
