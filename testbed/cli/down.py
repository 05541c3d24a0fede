"""testbed down: remove a rig, exactly what it created."""

from __future__ import annotations

import click

from .common import choose_rig, reports_errors, rig_option


@click.command("down")
@rig_option
@reports_errors
def command(rig: str | None) -> None:
    """Take the rig down: stop processes in its nodes, remove its namespaces.

    Works from the rig's state file, or, when `up` was interrupted (even by SIGKILL),
    from its journal. Namespaces are matched by identity (inode), so a namespace that
    merely has the same name is never touched. Needs root.
    """
    from ..backends.emulated import down_rig

    name = choose_rig(rig)
    report = down_rig(name)
    stopped = f", stopped {len(report.processes)} processes" if report.processes else ""
    click.echo(f"rig {name!r} is down: removed {len(report.namespaces)} namespaces{stopped}")
