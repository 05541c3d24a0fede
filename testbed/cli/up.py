"""testbed up: bring a topology up as an emulated rig on this host."""

from __future__ import annotations

import time

import click

from .common import reports_errors


@click.command("up")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--rig", "-r", metavar="NAME", help="Rig name (default: the topology's name).")
@click.option("--dry-run", is_flag=True, help="Print the equivalent `ip -batch` commands; change nothing.")
@click.option("--no-shaping", is_flag=True, help="Leave links unshaped (for kernels without netem).")
@click.option("--no-modems", is_flag=True, help="Do not start emulators for the modem nodes.")
@reports_errors
def command(file: str, rig: str | None, dry_run: bool, no_shaping: bool, no_modems: bool) -> None:
    """Create FILE's rig: a namespace per node, a veth pair per link, addresses and routes,
    netem on every shaped link direction, and an emulated 5G modem for each modem node
    without a `serial:` port (talk to it with `testbed modem NODE 'AT...'`).

    On any failure everything created so far is removed again. A rig that is already up
    is refused (exit 6); take it down first. Needs root.

    \b
      testbed up topologies/ward.yaml
      testbed up --rig ward2 topologies/ward.yaml     # a second copy beside the first
    """
    from ..backends.plan import ip_batch, plan_rig, shaped_ends
    from ..topology import load_topology

    topo = load_topology(file)
    if dry_run:
        plan = plan_rig(topo, rig)
        host, per_ns = ip_batch(plan)
        click.echo("# host namespace: ip -batch -")
        click.echo("\n".join(host))
        for netns, lines in per_ns.items():
            forwarding = plan.namespace(netns.removeprefix(f"tb-{plan.rig}-")).forwarding
            click.echo(f"\n# ip -n {netns} -batch -" + ("   (and sysctl net.ipv4.ip_forward=1)" if forwarding else ""))
            click.echo("\n".join(lines))
        if not no_shaping:
            from ..shaping.shaper import initial_lines

            per_shaped: dict[str, list[str]] = {}
            for end, imp in shaped_ends(plan):
                per_shaped.setdefault(end.netns, []).extend(" ".join(line.args) for line in initial_lines(end, imp))
            for netns, tc_lines in per_shaped.items():
                click.echo(f"\n# tc -n {netns} -batch -")
                click.echo("\n".join(tc_lines))
        return
    from ..backends.emulated import EmulatedRig

    started = time.perf_counter()
    up_rig = EmulatedRig.up(topo, rig, shaping=not no_shaping)
    elapsed = time.perf_counter() - started
    state = up_rig.state
    emulated_modems = [] if no_modems else [n["name"] for n in state["nodes"]
                                            if n["role"] == "modem" and not n.get("serial")]
    if emulated_modems:
        from ..coupling.emulators import start_emulators

        try:
            emulators = start_emulators(up_rig, emulated_modems)
        except BaseException:
            up_rig.down()
            raise
    click.echo(f"rig {up_rig.name!r} is up: {len(state['nodes'])} nodes, {len(state['links'])} links "
               f"in {elapsed * 1000:.0f} ms")
    if emulated_modems:
        for node, emulator in emulators.by_node.items():
            click.echo(f"  modem {node}: emulated, AT port {emulator.pty}")
    click.echo(f"  inspect:  testbed status --rig {up_rig.name}")
    first = state["nodes"][0]["name"]
    click.echo(f"  run:      testbed exec --rig {up_rig.name} {first} -- ip -br address")
    click.echo(f"  remove:   testbed down --rig {up_rig.name}")
