"""testbed validate: check topology files without touching the host."""

from __future__ import annotations

import sys

import click

from ..errors import TopologyInvalid


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="Print problems only, nothing for valid files.")
def command(files: tuple[str, ...], quiet: bool) -> None:
    """Check topology FILES: types, unknown keys, references, names, addresses.

    Every problem is printed as FILE:LINE:COLUMN: FIELD: MESSAGE. Exit code 3 when any
    file is invalid. Needs no root and changes nothing.
    """
    from ..topology import load_topology

    invalid = 0
    for path in files:
        try:
            topo = load_topology(path)
        except TopologyInvalid as exc:
            invalid += 1
            for problem in exc.problems:
                click.echo(problem, err=True)
            continue
        if not quiet:
            click.echo(f"{path}: ok, rig {topo.name!r}: {len(topo.nodes)} nodes, {len(topo.links)} links")
    if invalid:
        click.echo(f"testbed: {invalid} of {len(files)} file{'s' if len(files) > 1 else ''} invalid", err=True)
        sys.exit(TopologyInvalid.exit_code)
