"""testbed schema: the JSON Schema of topology files, generated from the model."""

from __future__ import annotations

import json

import click

SCHEMA_ID = "https://testbed.invalid/schemas/topology.schema.json"


def topology_schema() -> dict:
    from ..topology.model import Topology
    from ..topology.strict import json_schema

    return json_schema(Topology, "testbed topology", SCHEMA_ID)


@click.command("schema")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file, not stdout.")
def command(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of topology files, for editors.

    It is generated from the same model the loader checks against, so it cannot drift.
    In VS Code (YAML extension), put this first line in a topology file:

    \b
      # yaml-language-server: $schema=./topology.schema.json
    """
    text = json.dumps(topology_schema(), indent=2) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        click.echo(text, nl=False)
