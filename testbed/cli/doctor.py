"""testbed doctor: what this host's kernel can do, and so where each kind of rig and test runs."""

from __future__ import annotations

import json
from typing import Any

import click

from .common import reports_errors

KERNEL_FEATURES = ("netns", "veth", "vxlan", "htb", "tbf", "netem")


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON object.")
@reports_errors
def command(as_json: bool) -> None:
    """Show what this host supports and where things will therefore run.

    Every kernel feature is tried, not looked up: in a namespace of a child process that
    vanishes with it (nothing is left behind, except that a loadable module such as sch_netem
    gets loaded). What the kernel lacks for shaped rigs runs under `testbed vm`, when the VM
    can boot here; the table says which. Exit code 0 whatever is found.
    """
    from ..host import capabilities

    caps = capabilities()
    if as_json:
        click.echo(json.dumps(caps, indent=2, sort_keys=True))
        return
    click.echo(f"host kernel {caps['kernel']}, {'running as root' if caps['root'] else 'not running as root'}")
    click.echo("")
    rows = [("root", "yes" if caps["root"] else "no", _root_consequence(caps))]
    rows += [(f, _status(caps[f]), _kernel_consequence(f, caps)) for f in KERNEL_FEATURES]
    rows.append(("kvm", "usable" if caps["kvm"] else "unusable", _kvm_consequence(caps)))
    rows.append(("vm", "ok" if caps["vm"] else "missing", _vm_consequence(caps)))
    width = max(len(status) for _, status, _ in rows)
    for name, status, consequence in rows:
        click.echo(f"  {name:<6} {status:<{width}}  {consequence}".rstrip())
    problems = [f"{name}: {caps['details'][name]}" for name, status, _ in rows
                if status in ("missing", "unknown", "unusable") and name in caps["details"]]
    if problems:
        click.echo("")
        click.echo("why:")
        for line in problems:
            click.echo("  " + line.replace("\n", "\n    "))


def _status(value: bool | None) -> str:
    return {True: "ok", False: "missing", None: "unknown"}[value]


def _root_consequence(caps: dict[str, Any]) -> str:
    return "rigs can be brought up here" if caps["root"] else "rigs need root: run testbed as root"


def _elsewhere(caps: dict[str, Any]) -> str:
    return "run under `testbed vm`" if caps["vm"] else "cannot run here (and no VM: see vm)"


def _kernel_consequence(feature: str, caps: dict[str, Any]) -> str:
    works = caps[feature]
    if feature == "netem":
        if works:
            return "shaped rigs and netem tests run here"
        return f"shaped rigs and kernel tests {_elsewhere(caps)}"
    if works:
        return ""
    return {
        "netns": f"no rig at all on this kernel: rigs {_elsewhere(caps)}",
        "veth": f"no rig links on this kernel: rigs {_elsewhere(caps)}",
        "vxlan": "rigs spanning several hosts (VXLAN) cannot be wired from here",
        "htb": f"rate-limited links {_elsewhere(caps)}",
        "tbf": f"rate-limited links {_elsewhere(caps)}",
    }[feature]


def _kvm_consequence(caps: dict[str, Any]) -> str:
    if caps["kvm"]:
        return "the VM uses hardware virtualisation"
    return "the VM runs under TCG emulation (a few seconds more per boot, slower CPU)"


def _vm_consequence(caps: dict[str, Any]) -> str:
    if not caps["vm"]:
        return "no VM for what this kernel lacks (see why)"
    netem = "" if caps["vm_kernel_netem"] else "; that kernel has no sch_netem either"
    return f"`testbed vm` boots kernel {caps['vm_kernel']} under {str(caps['vm_accel']).upper()}{netem}"
