"""testbed timeline: play a topology's timeline on a running rig, and report its timing."""

from __future__ import annotations

import json

import click

from .common import choose_rig, reports_errors, rig_option


@click.command("timeline")
@rig_option
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Every step and the summary as JSON.")
@reports_errors
def command(rig: str | None, file: str | None, as_json: bool) -> None:
    """Apply the `timeline:` of FILE (default: the rig's own topology) to the running rig.

    Each step runs at its time on a monotonic clock from now; the report gives each step's
    lateness (applied minus scheduled) and the p50/p95/max over all steps. Ctrl-C stops.

    \b
      timeline:
        - {at: 5s, link: ecg1-gnb, set: {delay: 40ms}}
        - {at: 10s, link: ecg1-gnb, handover: {blackout: 66ms, profile: lte-measured}}
        - {link: ecg1-gnb, direction: down, trace: {file: traces/drive.csv, format: lumos5g}}
    """
    from ..backends.emulated import EmulatedRig
    from ..errors import RigNotFound
    from ..shaping.timeline import Timeline
    from ..topology import load_topology

    found = EmulatedRig.attach(choose_rig(rig))
    source = file or found.state.get("topology")
    if not source:
        raise RigNotFound(f"rig {found.name!r} records no topology file; give one")
    timeline = Timeline.from_topology(load_topology(source))
    if not timeline.steps:
        click.echo(f"{source} has no timeline")
        return
    click.echo(f"playing {len(timeline.steps)} steps over {timeline.steps[-1].at:.3f} s on rig {found.name!r}",
               err=as_json)
    run = timeline.start(found)
    try:
        report = run.wait()
    except KeyboardInterrupt:
        report = run.stop()
    if as_json:
        click.echo(json.dumps({"steps": [a.__dict__ | {"late_ms": a.late_ms} for a in report.applied],
                               "summary": report.summary()}, indent=2))
        return
    for a in report.applied:
        status = f"FAILED: {a.error}" if a.error else f"late {a.late_ms:7.2f} ms"
        click.echo(f"  t={a.scheduled_s:8.3f}s  {a.link:<12} {a.step:<40} {status}")
    click.echo("summary: " + ", ".join(f"{k}={v}" for k, v in report.summary().items()))
