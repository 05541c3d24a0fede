"""testbed shape: change a link's shaping live, or read it back from the kernel."""

from __future__ import annotations

import json

import click

from .common import choose_rig, reports_errors, rig_option


@click.command("shape")
@rig_option
@click.argument("link")
@click.argument("assignments", nargs=-1, metavar="[FIELD=VALUE]...")
@click.option("--up", "direction", flag_value="up", help="Only the uplink (first endpoint to second).")
@click.option("--down", "direction", flag_value="down", help="Only the downlink (second endpoint to first).")
@click.option("--show", is_flag=True, help="Print what the kernel does now (read back with tc).")
@click.option("--reset", is_flag=True, help="Back to what the topology file says.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@reports_errors
def command(rig: str | None, link: str, assignments: tuple[str, ...], direction: str | None, show: bool,
            reset: bool, as_json: bool) -> None:
    """Change LINK's netem live, one direction or both; or --show what the kernel does.

    Changes merge over the link's current shaping (delay=20ms keeps the loss); `FIELD=`
    removes a field; dotted keys reach into blocks. Fields and units are those of topology
    files. After every change the qdisc is read back from the kernel and compared.

    \b
      testbed shape ecg1-gnb delay=20ms loss=1%
      testbed shape ecg1-gnb --up rate=5mbit jitter=
      testbed shape ecg1-gnb gemodel.p=2% gemodel.r=20% loss=
      testbed shape ecg1-gnb --show
      testbed shape ecg1-gnb --reset
    """
    from ..backends.emulated import EmulatedRig
    from ..shaping.changes import BadShapingChange, parse_assignments

    found = EmulatedRig.attach(choose_rig(rig))
    if show:
        if assignments or reset:
            raise BadShapingChange("--show reads only; give no changes with it")
        _print(found.shaping(link), direction, as_json)
        return
    if reset:
        if assignments:
            raise BadShapingChange("--reset goes back to the topology's values; give no changes with it")
        entry = next((lk for lk in found.state["links"] if lk["name"] == link), None)
        if entry is None:
            found.shaping(link)  # raises the "no such link" error with the list of links
            return
        for d in ([direction] if direction else ["up", "down"]):
            current = entry[d]
            target = entry["configured"][d]
            changes = {k: None for k in current if k not in target} | target
            found.shape(link, d, **changes)  # type: ignore[arg-type]
        _print(found.shaping(link), direction, as_json)
        return
    if not assignments:
        raise BadShapingChange("give changes such as delay=20ms, or --show or --reset")
    found.shape(link, direction, **parse_assignments(list(assignments)))  # type: ignore[arg-type]
    result = found.shaping(link)
    _print(result, direction, as_json)


def _print(result: dict, direction: str | None, as_json: bool) -> None:
    shown = {d: imp for d, imp in result.items() if direction in (None, d)}
    if as_json:
        click.echo(json.dumps({d: (imp.as_dict() if imp else None) for d, imp in shown.items()}, indent=2))
        return
    for d, imp in shown.items():
        if imp is None:
            click.echo(f"{d:<5} not shaped")
        else:
            fields = "  ".join(f"{k}={v}" for k, v in imp.as_dict().items())
            click.echo(f"{d:<5} {fields}")
