"""Run one command inside a throwaway VM booted from a stock kernel, as if it ran here.

Why a VM: netem is a kernel feature, and the host kernel of this project's CI has none
(§6.8 of docs/reference/link-profiles.md). Mocking tc would test nothing, so netem tests run
under a stock Debian kernel instead, booted with virtme-ng over the host's own root
filesystem (9p): same files, same Python, same editable ``testbed`` package, same path for
the project, only the kernel differs. The command runs as root in the guest (it creates
namespaces and qdiscs); the guest's /etc, /usr, /var, /tmp... are copy-on-write overlays
that vanish with it, /run is a fresh tmpfs (so /run/netns and /run/testbed start empty), and
the working directory (plus any ``writable`` folder) is shared read-write with the host.

It calls ``virtme-run`` (through _launch.py), the launcher inside virtme-ng, rather than its
``vng`` front end: vng only turns its options into a shell string for virtme-run (paths
unquoted) and runs that; with an argv list nothing is re-parsed by a shell. The equivalent
vng line is ``vng --run KERNEL --disable-kvm --force-9p --memory 2G --cpus 2 --rwdir DIR
--exec "sh SCRIPT" --qemu-opts -accel tcg,thread=single`` (vng adds the overlays itself).

How it boots (each choice measured on the CI machine, 2 cores, no usable KVM):

- ``--kimg`` the PVH copy of the stock kernel (kernel.py): saves ~4 s of decompression in TCG;
- ``--force-9p``: virtme-ng otherwise first tries qemu's old C virtiofsd, which fails after
  ~3.5 s of retries, then falls back to 9p anyway;
- ``--disable-kvm`` unless KVM can really run a stock kernel (prereq.py);
- under TCG, ``-accel tcg,thread=single``: one host thread runs every vCPU in turn. With the
  default thread per vCPU, vCPUs wait on each other whenever the host is busy: with two CPU
  hogs running, a boot took 21 s instead of 14 s (idle: the same ~4 s either way);
- the init shim (guest.py) that skips udev and systemd-tmpfiles: 6-20 s less per boot, and
  mounts this interpreter's folders from cached 9p exports (added with ``--qemu-opts``):
  ``python -c pass`` 1.0 s instead of 2.9 s;
- ``--overlay-rwdir`` for /etc /lib /home /opt /srv /usr /var /tmp, as ``vng`` does, so tools
  that write there work; ``--rwdir`` for the working directory;
- ``--memory``/``--cpus`` as asked (2G, 2 by default).

The command is an argv list, never a shell string: it is quoted with shlex into a small
script (cd, environment, markers, the command) written to the host's /tmp, which the guest
sees. Markers the script prints on stderr around the command time the boot, the command and
the shutdown from the host's clock; they are removed from the output.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import BadArgument, HostUnsuitable, TestbedError
from .kernel import BOOT_DIR, MODULES_DIR, pvh_image
from .prereq import VmTools, find_vm_tools

DEFAULT_TIMEOUT = 600.0
OVERLAYS = ("/etc", "/lib", "/home", "/opt", "/srv", "/usr", "/var", "/tmp")
CARRIED_ENV = (
    "LANG", "LANGUAGE", "TERM", "TZ", "COLUMNS", "NO_COLOR", "FORCE_COLOR",
    "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "PYTHONWARNINGS",
    "PYTHONIOENCODING", "VIRTUAL_ENV", "PYENV_ROOT", "PYENV_VERSION", "PYTEST_ADDOPTS",
)
CARRIED_PREFIXES = ("TESTBED_", "LC_")
IN_VM = "TESTBED_IN_VM"  # set to 1 for the command, so code can tell where it runs
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class VmError(TestbedError):
    """The VM did not run the command to its end (boot failure, crash, timeout)."""

    def __init__(self, message: str, stdout: str = "", stderr: str = "") -> None:
        super().__init__(message)
        self.stdout = stdout
        self.stderr = stderr


class VmTimeout(VmError):
    """The VM was stopped because the command ran past its timeout."""


@dataclass(frozen=True)
class VmResult:
    """What the command did in the VM, and where the time went (host clock, seconds)."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    boot_s: float  # launching virtme-run until the command starts in the guest
    run_s: float  # the command itself
    shutdown_s: float  # the command's end until QEMU has exited
    kernel: str  # version of the kernel the guest ran
    accel: str  # "kvm" or "tcg"
    fast_boot: bool  # PVH image and udev-free init shim were both used
    command_line: list[str] = field(repr=False, default_factory=list)  # what was run on the host

    @property
    def total_s(self) -> float:
        return self.boot_s + self.run_s + self.shutdown_s


def run_in_vm(argv: Sequence[str], cwd: str | os.PathLike[str] | None = None,
              env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
              memory: str = "2G", cpus: int = 2, *,
              writable: Sequence[str | os.PathLike[str]] | None = None,
              stdin: int | IO[Any] | None = subprocess.DEVNULL,
              stdout: IO[bytes] | None = None, stderr: IO[bytes] | None = None,
              console: bool = False,
              boot_dir: str | os.PathLike[str] = BOOT_DIR,
              modules_dir: str | os.PathLike[str] = MODULES_DIR) -> VmResult:
    """Boot a VM, run ``argv`` in ``cwd`` (default: ours) as root, return its exit code and output.

    ``env`` is added to what is carried over from this process (CARRIED_ENV, TESTBED_*, LC_*,
    and PATH with this interpreter's folder first, so ``python`` is the one running us).
    ``writable`` folders are shared read-write (default: ``cwd``; pass ``()`` for none).
    ``stdin`` is the command's stdin (default: none; ``None`` passes ours through).
    ``stdout``/``stderr``, when given, also receive the output live (bytes).
    ``console`` shows the kernel's boot console on stderr, for debugging a boot.
    Raises HostUnsuitable when no VM can be booted here (naming what to install), VmTimeout
    after ``timeout`` seconds, VmError when the VM stops without finishing the command.
    """
    args = [os.fspath(a) for a in argv]
    if not args:
        raise BadArgument("run_in_vm needs a command")
    if os.environ.get(IN_VM):
        raise HostUnsuitable("already inside the testbed VM: run the command directly")
    workdir = os.path.abspath(os.fspath(cwd) if cwd is not None else os.getcwd())
    shared = [workdir] if writable is None else [os.path.abspath(os.fspath(p)) for p in writable]
    shared = [p for p in dict.fromkeys(shared) if p != "/"]
    for path in shared:
        if "," in path or "=" in path:
            raise BadArgument(f"cannot share {path!r} with the VM: QEMU options cannot carry ',' or '=' in paths")
        if not os.path.isdir(path):
            raise BadArgument(f"cannot share {path!r} with the VM: not a folder")
    tools = find_vm_tools(boot_dir, modules_dir)

    nonce = secrets.token_hex(8)
    start, end = f"@@testbed-vm:{nonce}:start@@", f"@@testbed-vm:{nonce}:end@@"
    scratch = Path(tempfile.mkdtemp(prefix="testbed-vm-"))
    try:
        script = scratch / "run.sh"
        script.write_text(_guest_script(args, workdir, _guest_env(env), start, end), encoding="utf-8")
        command, fast = _command_line(tools, scratch, script, shared, memory, cpus, console)
        return _run(command, args, tools, fast, stdin, stdout, stderr, timeout,
                    start.encode() + b"\n", end.encode() + b"\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _guest_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The command's environment: selected variables of ours, then ``extra``."""
    carried = {k: v for k, v in os.environ.items() if k in CARRIED_ENV or k.startswith(CARRIED_PREFIXES)}
    path = [os.path.dirname(sys.executable), *os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")]
    carried["PATH"] = ":".join(dict.fromkeys(p for p in path if p))
    carried.update(extra or {})
    carried[IN_VM] = "1"
    bad = [k for k in carried if not _NAME.match(k)]
    if bad:
        raise BadArgument(f"not environment variable names: {', '.join(sorted(bad))}")
    return carried


def _guest_script(argv: list[str], cwd: str, env: Mapping[str, str], start: str, end: str) -> str:
    """The shell script the guest runs: every value quoted with shlex, nothing interpolated."""
    lines = [
        f"cd {shlex.quote(cwd)} || {{ echo {shlex.quote(f'testbed vm: no folder {cwd} in the VM')} >&2; exit 125; }}",
        *(f"export {name}={shlex.quote(value)}" for name, value in env.items()),
        f"printf '%s\\n' {shlex.quote(start)} >&2",
        shlex.join(argv),
        "status=$?",
        f"printf '%s\\n' {shlex.quote(end)} >&2",
        "exit $status",
    ]
    return "\n".join(lines) + "\n"


def _command_line(tools: VmTools, scratch: Path, script: Path, shared: list[str], memory: str, cpus: int,
                  console: bool) -> tuple[list[str], bool]:
    """The host command that boots the VM and runs ``script``; and whether the fast path is on."""
    if cpus < 1:
        raise BadArgument(f"--cpus must be at least 1, not {cpus}")
    # The PVH copy needs the kernel version handed to virtme-run (see _launch.py), or binutils.
    image = pvh_image(tools.kernel) if tools.virtme_in_process or shutil.which("strings") else None
    args = ["--kimg", str(image or tools.kernel.image), "--mods", "auto", "--force-9p",
            "--name", "testbed-vm", "--memory", memory, "--cpus", str(cpus)]
    for folder in OVERLAYS:
        args += ["--overlay-rwdir", folder]
    for folder in shared:
        args.append(f"--rwdir={folder}={folder}")
    if tools.accel.name == "tcg":
        args.append("--disable-kvm")
    if console:
        args += ["--show-boot-console", "--verbose"]
    args += ["--script-sh", shlex.join(["/bin/sh", str(script)])]
    qemu = ["-accel", "tcg,thread=single"] if tools.accel.name == "tcg" and cpus > 1 else []
    original = _virtme_guest_tools() if tools.virtme_in_process else None
    if original is None:  # plain virtme-run: udev and uncached Python, slower but the same result
        launcher = [*tools.virtme_run, "-", tools.kernel.version] if tools.virtme_in_process else tools.virtme_run
        return [*launcher, *args, *(["--qemu-opts", *qemu] if qemu else [])], False

    from .guest import python_dirs, write_guest_tools

    cached = [(f"testbed.py{i}", path) for i, path in enumerate(python_dirs(OVERLAYS, exclude=shared))]
    for tag, path in cached:
        qemu += ["-fsdev", f"local,id={tag.replace('.', '-')},path={path},security_model=none,readonly=on,"
                 "multidevs=remap", "-device", f"virtio-9p-pci,fsdev={tag.replace('.', '-')},mount_tag={tag}"]
    guest_tools = write_guest_tools(scratch / "guest", original, tools.busybox, cached)
    args += ["--qemu-opts", *qemu] if qemu else []  # --qemu-opts takes all that follows: keep it last
    return [*tools.virtme_run, str(guest_tools), tools.kernel.version, *args], image is not None


def _virtme_guest_tools() -> Path | None:
    """virtme-ng's own guest tools folder, when it has the init the shim hands over to."""
    try:
        from virtme.resources import find_guest_tools
    except ImportError:
        return None
    found = find_guest_tools()
    if found is None or not (Path(found) / "bin" / "virtme-ng-init").is_file():
        return None
    return Path(found)


class _Pump(threading.Thread):
    """Copies one pipe into memory (and optionally a live stream), timing marker lines.

    A marker is removed wherever it appears, also glued to output that had no final newline.
    """

    def __init__(self, pipe: IO[bytes], live: IO[bytes] | None, markers: Sequence[bytes] = ()) -> None:
        super().__init__(daemon=True)
        self.pipe, self.live, self.markers = pipe, live, list(markers)
        self.seen: dict[bytes, float] = {}
        self.data = bytearray()
        self._pending = b""

    def run(self) -> None:
        fd = self.pipe.fileno()
        while chunk := os.read(fd, 65536):
            self._emit(self._filter(self._pending + chunk, time.monotonic()))
        self._emit(self._pending)
        self._pending = b""

    def _filter(self, buf: bytes, now: float) -> bytes:
        for marker in self.markers:
            if marker in buf:
                self.seen.setdefault(marker, now)
                buf = buf.replace(marker, b"")
        keep = max((n for m in self.markers for n in range(1, len(m)) if buf.endswith(m[:n])), default=0)
        out, self._pending = (buf[:-keep], buf[-keep:]) if keep else (buf, b"")
        return out

    def _emit(self, out: bytes) -> None:
        if not out:
            return
        self.data += out
        if self.live is not None:
            self.live.write(out)
            self.live.flush()


def _run(command: list[str], argv: list[str], tools: VmTools, fast: bool, stdin: int | IO[Any] | None,
         live_out: IO[bytes] | None, live_err: IO[bytes] | None, timeout: float,
         start: bytes, end: bytes) -> VmResult:
    launched = time.monotonic()
    proc = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Pump(proc.stdout, live_out), _Pump(proc.stderr, live_err, [start, end])
    out.start()
    err.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        out.join(5)
        err.join(5)
        raise VmTimeout(f"the command ran past its timeout of {timeout:g} s in the VM; the VM was stopped",
                        _text(out.data), _text(err.data)) from None
    except BaseException:  # Ctrl-C: do not leave QEMU behind
        _stop(proc)
        raise
    finally:
        out.join(30)
        err.join(30)
    exited = time.monotonic()
    stdout_text, stderr_text = _text(out.data), _text(err.data)
    if start not in err.seen:
        raise VmError(f"the VM never started the command (virtme-run exited with {proc.returncode}); "
                      "rerun with console=True (testbed vm --console) to see the boot:\n" + _tail(stderr_text),
                      stdout_text, stderr_text)
    if end not in err.seen:
        raise VmError(f"the VM stopped before the command finished (exit {proc.returncode}; a kernel panic?):\n"
                      + _tail(stderr_text), stdout_text, stderr_text)
    started, finished = err.seen[start], err.seen[end]
    return VmResult(argv=argv, returncode=proc.returncode, stdout=stdout_text, stderr=stderr_text,
                    boot_s=started - launched, run_s=finished - started, shutdown_s=exited - finished,
                    kernel=tools.kernel.version, accel=tools.accel.name, fast_boot=fast, command_line=command)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop virtme-run and its QEMU (their own process group), politely first."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
