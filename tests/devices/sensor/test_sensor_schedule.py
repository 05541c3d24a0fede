"""The frame scheduler: start + k·period over minutes of simulated time, late frames, and the real clock."""

from __future__ import annotations

import random
import threading
import time

from devices.sensor.schedule import FrameScheduler, SystemClock

MS = 1_000_000


class FakeClock:
    """Simulated monotonic time: sleeps overshoot by a random 0..``overshoot_ns`` (or wake early)."""

    def __init__(self, overshoot_ns: int = 0, early: bool = False, seed: int = 0) -> None:
        self.now = 5_000 * MS  # monotonic clocks do not start at 0
        self.overshoot_ns, self.early = overshoot_ns, early
        self.rng = random.Random(seed)
        self.sleeps = 0

    def monotonic_ns(self) -> int:
        return self.now

    def sleep_ns(self, duration_ns: int) -> None:
        self.sleeps += 1
        if self.early and duration_ns > 1:
            self.now += duration_ns // 2  # a sleep interrupted half-way
        else:
            self.now += duration_ns + self.rng.randint(0, self.overshoot_ns)

    def work(self, duration_ns: int) -> None:
        self.now += duration_ns


def test_no_drift_over_ten_simulated_minutes() -> None:
    clock = FakeClock(overshoot_ns=3 * MS)
    scheduler = FrameScheduler(40 * MS, clock)
    frames = 10 * 60 * 25  # 10 minutes of 40 ms ECG frames
    ticks = []
    for tick in scheduler.ticks(frames):
        clock.work(7 * MS)  # synthesise, encrypt, sign, commit: the time a naive sleep loop accumulates
        ticks.append(tick)
    start = scheduler.start_ns
    assert start is not None
    assert [t.k for t in ticks] == list(range(frames))
    assert all(t.due_ns == start + (t.k + 1) * 40 * MS for t in ticks)
    assert all(0 <= t.late_ns <= 3 * MS for t in ticks), max(t.late_ns for t in ticks)
    # the last frame fires 10 minutes after the start, give or take one sleep's overshoot
    assert 0 <= ticks[-1].fired_ns - (start + 600_000 * MS) <= 3 * MS
    assert scheduler.late == 0 and scheduler.max_late_ns <= 3 * MS


def test_a_stall_makes_frames_late_not_lost_and_the_schedule_recovers() -> None:
    clock = FakeClock()
    scheduler = FrameScheduler(40 * MS, clock, first=1000)
    ticks = []
    for tick in scheduler.ticks(300):
        if tick.k == 1100:
            clock.work(500 * MS)  # a half-second stall (GC, swap, a slow fsync)
        ticks.append(tick)
    assert [t.k for t in ticks] == list(range(1000, 1300)), "no frame may be skipped"
    late = [t for t in ticks if t.late_ns > 0]
    assert [t.k for t in late] == list(range(1101, 1113))  # 500 ms / 40 ms: the next 12 frames fire late
    assert late[0].late_ns == 460 * MS and late[-1].late_ns == 20 * MS
    assert scheduler.late == 11  # more than one period late: 1101..1111
    assert scheduler.max_late_ns == 460 * MS
    assert all(t.late_ns == 0 for t in ticks if t.k >= 1113), "the schedule must not shift after a stall"


def test_a_sleep_that_returns_early_never_fires_a_frame_early() -> None:
    clock = FakeClock(early=True)
    scheduler = FrameScheduler(20 * MS, clock)
    ticks = list(scheduler.ticks(500))
    assert all(t.fired_ns == t.due_ns for t in ticks)
    assert clock.sleeps > 500  # it slept again after each early return


def test_real_clock_short_run_keeps_to_schedule() -> None:
    period = 10 * MS
    scheduler = FrameScheduler(period, SystemClock())
    began = time.monotonic_ns()
    ticks = list(scheduler.ticks(100))
    elapsed = time.monotonic_ns() - began
    start = scheduler.start_ns
    assert start is not None
    assert all(t.fired_ns >= t.due_ns == start + (t.k + 1) * period for t in ticks)
    lateness = sorted(t.late_ns for t in ticks)
    median = lateness[len(lateness) // 2]
    print(f"real clock, 100 x 10 ms: median late {median / 1e3:.0f} us, max {lateness[-1] / 1e3:.0f} us")
    # no drift: 100 frames take 100 periods plus the last frame's lateness, not 100 x (period + overhead)
    assert elapsed - 100 * period < ticks[-1].late_ns + 5 * MS


def test_stop_ends_the_ticks_without_waiting_out_the_period() -> None:
    stop = threading.Event()
    scheduler = FrameScheduler(60_000 * MS, SystemClock(interrupt=stop), stop=stop)
    threading.Timer(0.1, stop.set).start()
    began = time.monotonic()
    assert list(scheduler.ticks()) == []
    assert time.monotonic() - began < 2
