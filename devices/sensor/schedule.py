"""Frame k is due at start + k·period on a monotonic clock: lateness never accumulates.

A loop that sleeps ``period`` after each frame drifts by the work time of every frame; here
each deadline is computed from the start, so a late frame does not push the next one. A frame
that fires late is still produced (a stand-in must not silently lose samples) and carries its
lateness, so the stats show it; frames are never skipped. The clock is injectable so tests
can run minutes of simulated time in milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def monotonic_ns(self) -> int: ...

    def sleep_ns(self, duration_ns: int) -> None: ...


class SystemClock:
    """``time.monotonic_ns``, and a sleep that ``interrupt`` cuts short (a 5-minute NIBP period must
    not delay a SIGTERM by 5 minutes); the agent's clock outside tests."""

    def __init__(self, interrupt: threading.Event | None = None) -> None:
        self.interrupt = interrupt

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_ns(self, duration_ns: int) -> None:
        if self.interrupt is None:
            time.sleep(duration_ns / 1e9)
        else:
            self.interrupt.wait(duration_ns / 1e9)


@dataclass(frozen=True)
class Tick:
    """Frame ``k`` fired: when it was due and when it actually fired (monotonic ns)."""

    k: int
    due_ns: int
    fired_ns: int

    @property
    def late_ns(self) -> int:
        return self.fired_ns - self.due_ns


class FrameScheduler:
    """Yields a :class:`Tick` for frame ``first``, ``first + 1``, … at ``start + (k - first + 1)·period``.

    The first tick is due one period after ``start``: a frame is captured when its window ends.
    ``late_threshold_ns`` (default: one period) decides what :attr:`late` counts. Once ``stop``
    is set, no further tick is yielded (pair it with ``SystemClock(interrupt=stop)``).
    """

    def __init__(self, period_ns: int, clock: Clock | None = None, first: int = 0,
                 late_threshold_ns: int | None = None, stop: threading.Event | None = None) -> None:
        if period_ns <= 0:
            raise ValueError(f"frame period: expected a positive number of ns, got {period_ns}")
        self.period_ns, self.first = period_ns, first
        self.clock = clock or SystemClock()
        self.late_threshold_ns = period_ns if late_threshold_ns is None else late_threshold_ns
        self.stop = stop
        self.start_ns: int | None = None
        self.late = 0
        self.max_late_ns = 0

    def due_ns(self, k: int) -> int:
        assert self.start_ns is not None
        return self.start_ns + (k - self.first + 1) * self.period_ns

    def ticks(self, count: int | None = None) -> Iterator[Tick]:
        """Tick ``count`` times (forever when None); the clock starts at the first call."""
        self.start_ns = self.clock.monotonic_ns()
        k = self.first
        while count is None or k < self.first + count:
            due = self.due_ns(k)
            now = self.clock.monotonic_ns()
            while now < due:  # a sleep may return early (signals, coarse timers): never fire early
                if self.stop is not None and self.stop.is_set():
                    return
                self.clock.sleep_ns(due - now)
                now = self.clock.monotonic_ns()
            if self.stop is not None and self.stop.is_set():
                return
            tick = Tick(k, due, now)
            if tick.late_ns > self.late_threshold_ns:
                self.late += 1
            self.max_late_ns = max(self.max_late_ns, tick.late_ns)
            yield tick
            k += 1
