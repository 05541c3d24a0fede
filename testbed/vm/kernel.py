"""Finding the stock kernel the VM boots, and a faster-booting copy of it.

Why a second kernel at all: the host's own kernel may lack sch_netem (this project's CI runs a
6.18 "fc" guest kernel without it), and netem cannot be faked. Debian's ``linux-image-amd64``
installs a stock kernel under /boot and its modules under /lib/modules/<version>; the VM boots
that kernel over the host's own root filesystem, so the modules (sch_netem among them) are
found where modprobe looks.

Which one: the generic flavour, never ``-cloud-`` (Debian's cloud kernels leave out 9p, which
the VM needs for its root filesystem) and never the running kernel (it is the one we are
getting away from). The newest version wins.

Why the copy: ``vmlinuz`` is an xz-compressed bzImage. Under TCG (software emulation, no KVM)
the kernel's own decompressor takes ~4 s of emulated time before the first line of boot. An
uncompressed vmlinux with a PVH entry note (CONFIG_PVH, set in Debian's kernels) is entered by
QEMU directly, in ~0.1 s. It is extracted once per kernel into the user's cache.
"""

from __future__ import annotations

import lzma
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import HostUnsuitable

BOOT_DIR = "/boot"
MODULES_DIR = "/lib/modules"
INSTALL_HINT = "install one: apt-get install linux-image-amd64"

_IMAGE = re.compile(r"^vmlinuz-(?P<version>\d+\.\d+\S*)$")
_SKIP_FLAVOURS = ("-cloud-",)  # Debian's cloud kernels have no 9p: they cannot mount the VM's root
_PVH_NOTE = 18  # XEN_ELFNOTE_PHYS32_ENTRY: QEMU can enter the ELF kernel directly


@dataclass(frozen=True)
class StockKernel:
    """A bootable kernel image with its modules."""

    version: str
    image: Path  # /boot/vmlinuz-<version>
    modules: Path  # /lib/modules/<version>

    def has_module(self, name: str) -> bool:
        """Whether the module (say ``sch_netem``) ships with this kernel, built in or loadable."""
        for listing in ("modules.builtin", "modules.dep"):
            try:
                text = (self.modules / listing).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if re.search(rf"/{re.escape(name)}\.ko(\.\w+)?:?\s", text + "\n"):
                return True
        return False


def _version_key(version: str) -> tuple:
    """Sort 6.1.0-57-amd64 after 6.1.0-9-amd64 (numbers compare as numbers)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-+~]", version))


def stock_kernels(boot_dir: str | os.PathLike[str] = BOOT_DIR,
                  modules_dir: str | os.PathLike[str] = MODULES_DIR,
                  running: str | None = None) -> list[StockKernel]:
    """Every usable stock kernel, newest first (see the module docstring for what counts)."""
    running = os.uname().release if running is None else running
    found = []
    try:
        names = os.listdir(boot_dir)
    except OSError:
        names = []
    for name in names:
        match = _IMAGE.match(name)
        if not match:
            continue
        version = match["version"]
        if version == running or any(flavour in f"-{version}-" for flavour in _SKIP_FLAVOURS):
            continue
        image, modules = Path(boot_dir) / name, Path(modules_dir) / version
        if not (image.is_file() and os.access(image, os.R_OK) and (modules / "modules.dep").is_file()):
            continue
        found.append(StockKernel(version, image, modules))
    return sorted(found, key=lambda k: _version_key(k.version), reverse=True)


def find_stock_kernel(boot_dir: str | os.PathLike[str] = BOOT_DIR,
                      modules_dir: str | os.PathLike[str] = MODULES_DIR,
                      running: str | None = None) -> StockKernel:
    """The kernel the VM boots: $TESTBED_VM_KERNEL when set, else the newest stock kernel.

    Raises HostUnsuitable naming the package to install when there is none.
    """
    override = os.environ.get("TESTBED_VM_KERNEL")
    if override:
        image = Path(override)
        match = _IMAGE.match(image.name)
        version = match["version"] if match else ""
        if not image.is_file() or not version:
            raise HostUnsuitable(f"$TESTBED_VM_KERNEL={override} is not a readable vmlinuz-<version> file")
        return StockKernel(version, image, Path(modules_dir) / version)
    kernels = stock_kernels(boot_dir, modules_dir, running)
    if not kernels:
        raise HostUnsuitable(
            f"no stock kernel to boot the VM with: {boot_dir} has no vmlinuz-<version> (other than the "
            f"running one, and not a -cloud- flavour) with modules in {modules_dir}/<version>; {INSTALL_HINT}"
        )
    return kernels[0]


def cache_dir() -> Path:
    """Where derived files live: $XDG_CACHE_HOME/testbed/vm, default ~/.cache/testbed/vm."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "testbed" / "vm"


def pvh_image(kernel: StockKernel, cache: Path | None = None) -> Path | None:
    """An uncompressed, directly bootable copy of the kernel (see module docstring), or None.

    None when the image cannot be unpacked here (not xz or gzip) or has no PVH entry; the
    caller then boots the bzImage as it is, ~4 s slower under TCG. The copy is named
    ``vmlinuz-<version>`` in a folder keyed by the image's size and mtime, so a kernel update
    gets a fresh copy and virtme-ng's fallback version detection (by file name) still works.
    """
    stat = kernel.image.stat()
    target = (cache or cache_dir()) / f"pvh-{stat.st_size}-{int(stat.st_mtime)}" / f"vmlinuz-{kernel.version}"
    if target.is_file():
        return target
    try:
        elf = _unpack_bzimage(kernel.image.read_bytes())
    except OSError:
        return None
    if elf is None or not _has_pvh_note(elf):
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        partial.write_bytes(elf)
        os.replace(partial, target)  # atomic: concurrent runs never boot half a file
    except OSError:
        return None
    return target


def _unpack_bzimage(data: bytes) -> bytes | None:
    """The ELF vmlinux inside a bzImage (xz or gzip payload), or None."""
    for magic, unpack in ((b"\xfd7zXZ\x00", lambda raw: lzma.LZMADecompressor().decompress(raw)),
                          (b"\x1f\x8b\x08", lambda raw: zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw))):
        start = data.find(magic)
        while start != -1:
            try:
                elf = unpack(data[start:])
            except (lzma.LZMAError, zlib.error):
                elf = b""
            if elf[:4] == b"\x7fELF":
                return elf
            start = data.find(magic, start + 1)
    return None


def _has_pvh_note(elf: bytes) -> bool:
    """Whether a 64-bit little-endian ELF carries the Xen PVH entry note QEMU boots from."""
    if elf[4:6] != b"\x02\x01":  # ELFCLASS64, little-endian
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\x00")
            if name == b"Xen" and ntype == _PVH_NOTE:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False
