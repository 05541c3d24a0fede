"""testbed status: what a rig is made of, and whether its namespaces still exist."""

from __future__ import annotations

import json

import click

from .common import choose_rig, reports_errors, rig_option


@click.command("status")
@rig_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: one object with 'nodes' and 'links'.")
@reports_errors
def command(rig: str | None, as_json: bool) -> None:
    """Show the rig's nodes (role, namespace, addresses, live or gone) and links.

    The JSON form is stable for scripts: {"rig", "topology", "created", "nodes": [{"name",
    "role", "namespace", "addresses", "interfaces", "routes", "live"}], "links": [{"name",
    "endpoints", "addresses", "via", "profile", "up", "down"}]}.
    """
    from ..backends.emulated import EmulatedRig

    found = EmulatedRig.attach(choose_rig(rig))
    state = dict(found.state)
    state["nodes"] = [dict(n, live=found.is_live(n["name"])) for n in state["nodes"]]
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    live = sum(n["live"] for n in state["nodes"])
    click.echo(f"rig {state['rig']}  ({state['backend']}, up since {state['created']}, from {state['topology']})")
    click.echo(f"nodes: {live}/{len(state['nodes'])} live")
    width = max(len(n["name"]) for n in state["nodes"])
    for n in state["nodes"]:
        mark = "" if n["live"] else "  GONE"
        addresses = ", ".join(n["addresses"]) or "-"
        click.echo(f"  {n['name']:<{width}}  {n['role']:<6}  {n['namespace']:<{width + len(state['rig']) + 4}}  "
                   f"{addresses}{mark}")
    click.echo(f"links: {len(state['links'])}")
    lwidth = max((len(lk["name"]) for lk in state["links"]), default=0)
    for lk in state["links"]:
        via = f"  via {lk['via']}" if lk["via"] else ""
        profile = f"  profile {lk['profile']}" if lk["profile"] else ""
        click.echo(f"  {lk['name']:<{lwidth}}  {lk['endpoints'][0]} {lk['addresses'][0]}  <->  "
                   f"{lk['endpoints'][1]} {lk['addresses'][1]}{via}{profile}")
        for direction in ("up", "down"):
            if lk.get(direction):
                applied = "" if lk.get("shaped", True) else "   (not applied: --no-shaping)"
                fields = " ".join(f"{k}={v}" for k, v in lk[direction].items())
                click.echo(f"  {'':<{lwidth}}    {direction:<4} {fields}{applied}")
