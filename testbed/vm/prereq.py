"""What booting the VM needs from the host, and whether KVM can speed it up.

Four things, each from a package: QEMU (``apt-get install qemu-system-x86``), virtme-ng
(``pip install virtme-ng``: builds the initramfs and runs QEMU over the host's root
filesystem), a statically linked busybox for that initramfs (``apt-get install
busybox-static``) and a stock kernel (``apt-get install linux-image-amd64``, see kernel.py).
Everything missing is named in one error, with the command that installs it.

KVM is used only when it can run a stock kernel. An openable /dev/kvm is not enough: this
project's CI machines expose /dev/kvm through PVM (``kvm_pvm``, virtualisation without
hardware support), which accepts KVM_CREATE_VM but only runs guest kernels built for PVM; a
Debian kernel hangs there before its first line. Real KVM needs the CPU's vmx/svm flag, which
a PVM host does not show. Without KVM the VM runs under TCG (QEMU's software emulation):
slower, but a stock kernel boots in seconds.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import struct
import sys
from dataclasses import dataclass

from ..errors import HostUnsuitable
from .kernel import BOOT_DIR, MODULES_DIR, StockKernel, find_stock_kernel

KVM_GET_API_VERSION = 0xAE00
KVM_API_VERSION = 12

QEMU_PACKAGE = "qemu-system-x86"
BUSYBOX_PACKAGE = "busybox-static"
KERNEL_PACKAGE = "linux-image-amd64"
VIRTME_PACKAGE = "virtme-ng"


@dataclass(frozen=True)
class Accel:
    """How QEMU runs the guest: ``kvm`` (hardware) or ``tcg`` (emulation), and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class VmTools:
    """Everything one VM boot needs, found on this host."""

    qemu: str
    busybox: str
    virtme_run: list[str]  # argv prefix that runs virtme-run
    virtme_in_process: bool  # virtme is importable here, so the guest init shim can be used
    virtme_version: str
    kernel: StockKernel
    accel: Accel


def kvm_accel() -> Accel:
    """KVM when it can run a stock kernel (see module docstring), else TCG; never raises.

    $TESTBED_VM_ACCEL=kvm or =tcg overrides the detection.
    """
    forced = os.environ.get("TESTBED_VM_ACCEL", "").strip().lower()
    if forced in ("kvm", "tcg"):
        return Accel(forced, "forced by $TESTBED_VM_ACCEL")
    if not os.path.exists("/dev/kvm"):
        return Accel("tcg", "no /dev/kvm")
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return Accel("tcg", f"/dev/kvm cannot be opened read-write ({exc.strerror})")
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as exc:
        return Accel("tcg", f"/dev/kvm does not answer KVM_GET_API_VERSION ({exc.strerror})")
    finally:
        os.close(fd)
    if version != KVM_API_VERSION:
        return Accel("tcg", f"/dev/kvm speaks KVM API {version}, not {KVM_API_VERSION}")
    if os.path.isdir("/sys/module/kvm_pvm"):
        return Accel("tcg", "/dev/kvm is PVM (kvm_pvm): it runs only PVM-built guest kernels, not a stock one")
    if not _cpu_flags() & {"vmx", "svm"}:
        return Accel("tcg", "/dev/kvm exists but the CPU shows no vmx/svm, so it cannot run a stock guest kernel")
    return Accel("kvm", "/dev/kvm is usable and the CPU has hardware virtualisation")


def find_vm_tools(boot_dir: str | os.PathLike[str] = BOOT_DIR,
                  modules_dir: str | os.PathLike[str] = MODULES_DIR) -> VmTools:
    """Everything needed to boot the VM, or HostUnsuitable listing all that is missing."""
    missing: list[str] = []
    if platform.machine() != "x86_64":
        raise HostUnsuitable(f"the netem VM is set up for x86_64 hosts only; this one is {platform.machine()}")
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        missing.append(f"QEMU (qemu-system-x86_64): apt-get install {QEMU_PACKAGE}")
    busybox = find_static_busybox()
    if busybox is None:
        missing.append(f"a statically linked busybox for the VM's initramfs: apt-get install {BUSYBOX_PACKAGE}")
    virtme_run, in_process, version = _find_virtme()
    if virtme_run is None:
        missing.append(f"virtme-ng (runs QEMU over the host's filesystem): pip install {VIRTME_PACKAGE}")
    try:
        kernel = find_stock_kernel(boot_dir, modules_dir)
    except HostUnsuitable as exc:
        missing.append(str(exc))
        kernel = None
    if missing:
        raise HostUnsuitable("cannot boot the netem VM; missing:\n  - " + "\n  - ".join(missing))
    assert qemu and busybox and virtme_run and kernel
    return VmTools(qemu, busybox, virtme_run, in_process, version, kernel, kvm_accel())


def vm_unavailable_reason(boot_dir: str | os.PathLike[str] = BOOT_DIR,
                          modules_dir: str | os.PathLike[str] = MODULES_DIR) -> str | None:
    """Why no VM can be booted here (for skips and doctor), or None when one can."""
    try:
        find_vm_tools(boot_dir, modules_dir)
    except HostUnsuitable as exc:
        return str(exc)
    return None


def find_static_busybox() -> str | None:
    """A statically linked busybox (virtme-ng's initramfs has no libc to link against)."""
    for name in ("busybox-static", "busybox.static", "busybox"):
        path = shutil.which(name)
        if path and _is_static_elf(path):
            return os.path.realpath(path)
    return None


def _is_static_elf(path: str) -> bool:
    """An ELF with no program interpreter (PT_INTERP) needs no dynamic loader."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only: the hosts we support
                return False
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            handle.seek(phoff)
            table = handle.read(phentsize * phnum)
    except OSError:
        return False
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def _find_virtme() -> tuple[list[str] | None, bool, str]:
    """How to run virtme-run: in this interpreter when virtme is importable, else from PATH."""
    try:
        version = importlib.metadata.version(VIRTME_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    if importlib.util.find_spec("virtme") is not None and importlib.util.find_spec("virtme_ng") is not None:
        return [sys.executable, "-m", "testbed.vm._launch"], True, version
    path = shutil.which("virtme-run")
    if path is not None:
        return [path], False, version
    return None, False, version


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()
