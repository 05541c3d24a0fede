"""testbed exec: run a command inside a node of a rig."""

from __future__ import annotations

import os
import sys

import click

from .common import choose_rig, reports_errors, rig_option


@click.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@rig_option
@click.argument("node")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- COMMAND [ARGS]...")
@reports_errors
def command(rig: str | None, node: str, argv: tuple[str, ...]) -> None:
    """Run COMMAND in NODE's network namespace; its exit code becomes ours.

    The command replaces this process (signals, terminal and exit code are its own) and
    sees the node's interfaces, also under /sys/class/net. No shell is involved: give a
    shell yourself when you want one.

    \b
      testbed exec ecg1 -- ping -c 3 10.99.0.2
      testbed exec --rig ward edge -- sh -c 'ip -br addr; ip route'
    """
    from ..backends.emulated import EmulatedRig, require_root
    from ..backends.netns import enter_for_exec, netns_path
    from ..errors import RigNotFound

    require_root("exec")
    args = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not args:
        raise click.UsageError("give the command after --, for example: testbed exec edge -- ip route")
    found = EmulatedRig.attach(choose_rig(rig))
    entry = found.node(node)
    if not found.is_live(node):
        raise RigNotFound(f"node {node!r} of rig {found.name!r} is gone (its namespace was removed)")
    if entry.get("cpu") is not None:
        from ..backends.cpu import join, rig_cgroup

        join(rig_cgroup(found.name) / node, os.getpid())  # the node's CPU quota holds for its commands
    enter_for_exec(netns_path(entry["namespace"]))
    try:
        os.execvp(args[0], args)
    except FileNotFoundError:
        click.echo(f"testbed: {args[0]}: command not found in node {node!r}", err=True)
        sys.exit(127)
    except OSError as exc:
        click.echo(f"testbed: {args[0]}: cannot run: {exc.strerror}", err=True)
        sys.exit(126)
