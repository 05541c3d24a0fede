"""testbed modem: send one AT command to a modem node's emulator and print the answer."""

from __future__ import annotations

import sys

import click

from .common import choose_rig, reports_errors, rig_option


@click.command("modem")
@rig_option
@click.argument("node")
@click.argument("at_command", metavar="'AT...'")
@click.option("--timeout", "-t", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Wait this long for the final result code (default: the command's own limit).")
@reports_errors
def command(rig: str | None, node: str, at_command: str, timeout: float | None) -> None:
    """Send AT_COMMAND to NODE's modem and print the response lines, then the final result code.

    A node with `serial:` in the topology is a real modem reached at that pyserial URL;
    otherwise NODE's emulator (which `testbed up` starts) is reached through its pty under
    $TESTBED_RUN_DIR/rigs/<rig>/modems/<node>/at. Exit code 0 on OK, 7 on ERROR or
    +CME/+CMS ERROR, 8 when no final result code arrives in time, 5 when no emulator runs.

    \b
      testbed modem m1 ATI
      testbed modem m1 'AT+QENG="servingcell"'
    """
    from ..backends.emulated import EmulatedRig
    from ..coupling.emulators import find_emulator, modem_dir
    from ..drivers.at.client import FINAL_OK, AtClient
    from ..drivers.at.errors import CommandFailed
    from ..errors import RigNotFound

    text = at_command.strip()
    if text[:2].upper() != "AT" or any(c in text for c in "\r\n"):
        raise click.UsageError(f"expected one command line starting with AT, got {at_command!r}")
    found = EmulatedRig.attach(choose_rig(rig))
    entry = found.node(node)
    if entry.get("role") != "modem":
        raise RigNotFound(f"node {node!r} of rig {found.name!r} has role {entry.get('role')!r}, not modem")
    if entry.get("serial"):
        url = entry["serial"]  # a real modem: its AT port, local or through ser2net
    else:
        emulator = find_emulator(found.name, node)
        if emulator is None:
            raise RigNotFound(f"no modem emulator is running for node {node!r} of rig {found.name!r} "
                              f"(nothing live under {modem_dir(found.name, node)}); `testbed up` starts them "
                              "unless --no-modems was given")
        url = str(emulator.url)
    with AtClient(url) as client:
        response = client.command(text, timeout, check=False)
    for line in response.lines:
        click.echo(line)
    click.echo(response.final)
    if response.final != FINAL_OK:
        sys.exit(CommandFailed.exit_code)


if __name__ == "__main__":
    command(prog_name="testbed modem")
