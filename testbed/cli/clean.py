"""testbed clean: remove everything testbed created on this host, also after crashes."""

from __future__ import annotations

import click

from .common import reports_errors


@click.command("clean")
@click.option("--rig", "-r", metavar="NAME", help="Only this rig's objects.")
@click.option("--dry-run", "-n", is_flag=True, help="List what would be removed; remove nothing.")
@reports_errors
def command(rig: str | None, dry_run: bool) -> None:
    """Remove all rigs (or one) and anything of ours that crashed runs left behind.

    Finds namespaces from the run directory and, when that is gone, by the ownership tag
    testbed writes on every namespace's loopback. A namespace without our tag is never
    touched, whatever its name: such ones named tb-* are listed so you can look.
    Needs root.
    """
    from ..backends.emulated import clean

    report = clean(rig, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    total = 0
    for entry in report.removed:
        total += len(entry.namespaces)
        stopped = f", stopped {len(entry.processes)} processes" if entry.processes else ""
        click.echo(f"rig {entry.rig}: {verb} {len(entry.namespaces)} namespaces{stopped}")
    for name in report.untouched:
        click.echo(f"left alone: {name} (named like ours but without our tag)")
    if not report.removed:
        click.echo("nothing of ours to remove")
