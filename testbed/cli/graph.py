"""testbed graph: draw a topology as Graphviz dot or Mermaid."""

from __future__ import annotations

import click

from .common import reports_errors


@click.command("graph")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "-f", "fmt", type=click.Choice(["dot", "mermaid"]), default="dot", show_default=True)
@reports_errors
def command(file: str, fmt: str) -> None:
    """Print FILE's topology as a graph, with link names, subnets and interface names.

    \b
      testbed graph topologies/ward.yaml | dot -Tsvg > ward.svg
      testbed graph -f mermaid topologies/ward.yaml >> README.md
    """
    from ..topology import load_topology
    from ..topology.graph import to_dot, to_mermaid

    topo = load_topology(file)
    click.echo(to_dot(topo) if fmt == "dot" else to_mermaid(topo), nl=False)
