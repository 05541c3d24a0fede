"""Timelines: link changes at scheduled times, with the timing error measured and reported.

A timeline is a list of steps, each "at t seconds, make this direction of this link do X".
It comes from a topology's ``timeline:`` section or is built in a test::

    timeline = Timeline().set(1.0, "ecg1-gnb", delay="40ms").handover(3.0, "ecg1-gnb", "66ms", "lte-measured")
    report = timeline.run(rig)          # blocks; or run = timeline.start(rig) ... run.wait()
    print(report.summary())             # lateness of each change: p50, p95, max

A handover is two steps: every packet lost for the blackout (loss 100% both ways, the rest
kept), then the new profile. A trace becomes one rate step per sample (Lumos5G: one per
second; Mahimahi: delivery opportunities counted per window). Each step is applied on a
monotonic clock against the timeline's start, and its lateness (applied minus scheduled) is
recorded: applying is a ``tc`` change plus a read-back, a few milliseconds.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..topology.model import Direction, Impairment, Profile, Topology
from ..topology.units import Duration, Percent, Rate
from .changes import impairment_from_dict, merge_changes

DIRECTIONS: tuple[Direction, Direction] = ("up", "down")
MIN_TRACE_RATE = Rate(1000.0)  # netem cannot be told "zero": 1 kbit/s delivers next to nothing
DEFAULT_WINDOW = Duration(100_000)
MAHIMAHI_PACKET_BITS = 1500 * 8


class ShapeableRig(Protocol):
    """What a timeline needs from a rig: its links' current shaping, and a way to set it."""

    state: dict[str, Any]

    def set_shaping(self, link: str, wanted: dict[str, Impairment]) -> dict[str, Impairment | None]: ...


@dataclass(frozen=True)
class Step:
    """At ``at`` seconds: compute each direction's new impairment from its current one."""

    at: float
    link: str
    directions: tuple[Direction, ...]
    label: str
    change: Callable[[Direction, Impairment, dict[tuple[str, str], Impairment]], Impairment]


@dataclass(frozen=True)
class Applied:
    step: str
    link: str
    scheduled_s: float
    applied_s: float
    apply_ms: float
    error: str | None = None

    @property
    def late_ms(self) -> float:
        return (self.applied_s - self.scheduled_s) * 1000


@dataclass
class TimelineReport:
    """What happened: each step's scheduled and actual time; the summary is the timing error."""

    applied: list[Applied] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        late = sorted(a.late_ms for a in self.applied if a.error is None)
        if not late:
            return {"steps": len(self.applied), "errors": len(self.applied)}
        return {
            "steps": len(self.applied),
            "errors": sum(a.error is not None for a in self.applied),
            "late_ms_p50": round(statistics.median(late), 3),
            "late_ms_p95": round(late[min(len(late) - 1, int(0.95 * len(late)))], 3),
            "late_ms_max": round(late[-1], 3),
            "apply_ms_p50": round(statistics.median(a.apply_ms for a in self.applied), 3),
            "in_order": all(x.applied_s <= y.applied_s for x, y in zip(self.applied, self.applied[1:], strict=False)),
        }


class Timeline:
    """Steps to apply to a running rig's links, built in code or from a topology."""

    def __init__(self, steps: list[Step] | None = None) -> None:
        self.steps: list[Step] = list(steps or [])

    def _add(self, step: Step) -> Timeline:
        self.steps.append(step)
        self.steps.sort(key=lambda s: s.at)  # stable: steps at one time keep the order given
        return self

    def set(self, at: float, link: str, direction: Direction | None = None, **fields: object) -> Timeline:
        """At ``at`` s, merge ``fields`` (topology spelling; None removes) over the link's shaping."""
        label = "set " + " ".join(f"{k}={v}" for k, v in fields.items())

        def change(d: Direction, current: Impairment, _: dict) -> Impairment:
            return merge_changes(current.as_dict(), fields, f"timeline: link {link} ({d})")

        return self._add(Step(at, link, _directions(direction), label, change))

    def handover(self, at: float, link: str, blackout: str | Duration, profile: Profile | None = None,
                 direction: Direction | None = None) -> Timeline:
        """At ``at`` s nothing gets through for ``blackout``; then ``profile`` (or what was before)."""
        gap = blackout if isinstance(blackout, Duration) else Duration.parse(blackout)
        directions = _directions(direction)

        def cut(d: Direction, current: Impairment, memory: dict) -> Impairment:
            memory[(link, d)] = current
            return dataclasses.replace(current, loss=Percent(100.0), loss_correlation=None, gemodel=None)

        def restore(d: Direction, current: Impairment, memory: dict) -> Impairment:
            if profile is not None:
                return _profile_impairment(profile, d)
            return memory.get((link, d), current)

        self._add(Step(at, link, directions, f"handover: blackout {gap}", cut))
        target = f" to {profile.name}" if profile is not None else ""
        return self._add(Step(at + gap.us / 1e6, link, directions, f"handover: attach{target}", restore))

    def rates(self, link: str, samples: list[tuple[float, Rate]], direction: Direction | None = None,
              start: float = 0.0) -> Timeline:
        """One rate step per (seconds, rate) sample, from ``start``."""
        for t, rate in samples:
            rate = max(rate, MIN_TRACE_RATE, key=lambda r: r.bps)

            def change(d: Direction, current: Impairment, _: dict, rate: Rate = rate) -> Impairment:
                return current.merged(Impairment(rate=rate))

            self._add(Step(start + t, link, _directions(direction), f"trace rate {rate}", change))
        return self

    @classmethod
    def from_topology(cls, topo: Topology) -> Timeline:
        timeline = cls()
        base = Path(topo.source).parent if topo.source else Path(".")
        for event in topo.timeline:
            at = event.at.us / 1e6 if event.at else 0.0
            if event.set is not None:
                fields = {k.replace("-", "_"): v for k, v in event.set.as_dict().items()}
                timeline.set(at, event.link, event.direction, **fields)
            elif event.handover is not None:
                profile = topo.profiles[event.handover.profile] if event.handover.profile else None
                if profile is not None:
                    profile = _flattened(topo, profile)
                timeline.handover(at, event.link, event.handover.blackout, profile, event.direction)
            elif event.trace is not None:
                samples = read_trace(base / event.trace.file, event.trace.format, event.trace.window)
                timeline.rates(event.link, samples, event.direction, at)
        return timeline

    def run(self, rig: ShapeableRig) -> TimelineReport:
        """Apply every step at its time; returns when the last one is done."""
        return self.start(rig).wait()

    def start(self, rig: ShapeableRig) -> TimelineRun:
        """Apply the steps in a background thread, starting now."""
        return TimelineRun(self, rig)


class TimelineRun:
    """A timeline being applied; :meth:`wait` gives the report, :meth:`stop` ends it early."""

    def __init__(self, timeline: Timeline, rig: ShapeableRig) -> None:
        self.timeline = timeline
        self.rig = rig
        self.report = TimelineReport()
        self._stop = threading.Event()
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="testbed-timeline", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        memory: dict[tuple[str, str], Impairment] = {}
        for step in self.timeline.steps:
            due = self.started + step.at
            if self._stop.wait(max(0.0, due - time.monotonic() - 0.002)):
                return
            while time.monotonic() < due:  # the last 2 ms on a busy wait: sleep overshoots
                pass
            begun = time.monotonic()
            error = None
            try:
                entry = next(lk for lk in self.rig.state["links"] if lk["name"] == step.link)
                wanted = {}
                for d in step.directions:
                    current = impairment_from_dict(entry[d], f"link {step.link} ({d})")
                    wanted[d] = step.change(d, current, memory)
                self.rig.set_shaping(step.link, wanted)  # type: ignore[arg-type]
            except Exception as exc:  # reported per step; one bad step does not stop the timeline
                error = str(exc)
            done = time.monotonic()
            self.report.applied.append(Applied(step.label, step.link, step.at, done - self.started,
                                               (done - begun) * 1000, error))

    def wait(self, timeout: float | None = None) -> TimelineReport:
        self._thread.join(timeout)
        return self.report

    def stop(self) -> TimelineReport:
        self._stop.set()
        return self.wait()


def read_trace(path: Path, fmt: str, window: Duration | None = None) -> list[tuple[float, Rate]]:
    """(seconds, rate) samples from a Lumos5G/SIGCOMM'21 or a Mahimahi trace file."""
    text = path.read_text(encoding="utf-8")
    if fmt == "lumos5g":
        samples: list[tuple[float, Rate]] = []
        for number, line in enumerate(text.splitlines(), 1):
            fields = line.replace(",", " ").split()
            if not fields or line.lstrip().startswith("#"):
                continue
            try:
                t, mbps = float(fields[0]), float(fields[1])
            except (ValueError, IndexError):
                if not samples and number == 1:
                    continue  # a header line
                raise ValueError(f"{path}:{number}: expected 'seconds mbps', got {line!r}") from None
            samples.append((t, Rate(mbps * 1e6) if mbps > 0 else MIN_TRACE_RATE))
        first = samples[0][0] if samples else 0.0
        return [(t - first, rate) for t, rate in samples]
    if fmt == "mahimahi":
        step_ms = (window or DEFAULT_WINDOW).us / 1000
        counts: dict[int, int] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                ms = int(line.strip())
            except ValueError:
                raise ValueError(f"{path}:{number}: expected a millisecond timestamp, got {line!r}") from None
            counts[int(ms // step_ms)] = counts.get(int(ms // step_ms), 0) + 1
        last = max(counts, default=-1)
        return [(i * step_ms / 1000, Rate(counts.get(i, 0) * MAHIMAHI_PACKET_BITS / (step_ms / 1000))
                 if counts.get(i) else MIN_TRACE_RATE) for i in range(last + 1)]
    raise ValueError(f"unknown trace format {fmt!r}: lumos5g or mahimahi")


def _directions(direction: Direction | None) -> tuple[Direction, ...]:
    return (direction,) if direction else DIRECTIONS


def _profile_impairment(profile: Profile, direction: Direction) -> Impairment:
    return (profile.both or Impairment()).merged(getattr(profile, direction))


def _flattened(topo: Topology, profile: Profile) -> Profile:
    """A profile with what it extends folded in, so the timeline needs no topology later."""
    return Profile(profile.name, both=None, up=topo.profile_impairment(profile.name, "up"),
                   down=topo.profile_impairment(profile.name, "down"))
