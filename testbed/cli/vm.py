"""testbed vm: run a command in a VM booted from a stock kernel (for netem, which this kernel may lack)."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from .common import reports_errors


@click.command("vm", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--memory", "-m", default="2G", show_default=True, metavar="SIZE", help="Guest memory (QEMU -m syntax).")
@click.option("--cpus", "-p", default=2, show_default=True, type=click.IntRange(1, 64), help="Guest CPUs.")
@click.option("--timeout", "-t", default=600.0, show_default=True, type=click.FloatRange(min=1), metavar="SECONDS",
              help="Stop the VM when the command runs longer.")
@click.option("--interactive", "-i", is_flag=True, help="Pass our stdin through to the command.")
@click.option("--writable", "-w", "writable", multiple=True, metavar="DIR",
              type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Also share DIR read-write with the VM (repeatable).")
@click.option("--read-only", is_flag=True, help="Do not share the current folder read-write: writes stay in the VM.")
@click.option("--console", is_flag=True, help="Show the kernel's boot console (to debug a boot that fails).")
@click.option("--verbose", "-v", is_flag=True, help="Print the kernel, boot, run and shutdown times to stderr.")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- COMMAND [ARGS]...")
@reports_errors
def command(memory: str, cpus: int, timeout: float, interactive: bool, writable: tuple[str, ...], read_only: bool,
            console: bool, verbose: bool, argv: tuple[str, ...]) -> None:
    """Run COMMAND as root in a VM with a stock kernel, in this folder; its exit code becomes ours.

    Why: netem (link shaping) is a kernel feature, and some kernels (this project's CI
    among them) have none. The VM boots the newest stock kernel under /boot with virtme-ng
    over this machine's own files: same Python, same testbed, same folder, only the kernel
    differs. It uses KVM when it can run a stock kernel and QEMU's emulation (TCG) otherwise;
    `testbed doctor` tells which. The current folder is shared read-write; everything else
    the command writes (in /etc, /tmp, /run...) vanishes with the VM.

    \b
      testbed vm -- python -m pytest -m netem tests/shaping
      testbed vm -v -- sh -c 'testbed up topologies/ward.yaml && testbed status'
    """
    from ..vm.runner import run_in_vm

    args = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not args:
        raise click.UsageError("give the command after --, for example: testbed vm -- uname -r")
    cwd = os.getcwd()
    shared = [*(() if read_only else (cwd,)), *writable]
    result = run_in_vm(args, cwd=cwd, timeout=timeout, memory=memory, cpus=cpus, writable=shared,
                       stdin=None if interactive else subprocess.DEVNULL,
                       stdout=sys.stdout.buffer, stderr=sys.stderr.buffer, console=console)
    if verbose:
        fast = "" if result.fast_boot else " (slow path: no init shim or PVH kernel)"
        click.echo(f"testbed vm: kernel {result.kernel} under {result.accel.upper()}{fast}: "
                   f"boot {result.boot_s:.1f} s, command {result.run_s:.1f} s, shutdown {result.shutdown_s:.1f} s",
                   err=True)
    sys.exit(result.returncode)
