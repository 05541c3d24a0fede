"""RRC idle promotion: after a quiet spell the radio is released, and the next packet pays for
re-establishing the connection.

Why: sparse medical telemetry (an NIBP cuff measuring every few minutes, alarms) meets a
radio that went idle; the SIGCOMM'21 RRC probes (docs/reference/link-profiles.md §2.2) put
the first packet after about 10 s of silence 0.4-0.9 s later than one on a warm radio. A
static netem delay cannot express "only the first packet after silence", so this watches the
link and changes the uplink's delay:

    connected --(no packet either way for ``inactivity_s``)--> idle: uplink delay += penalty
    idle --(a packet leaves the device end)--> connected: the delay is restored

A packet that finds the radio idle waits the penalty in netem before it is counted as sent,
so the watcher restores the delay the moment it sees that packet; packets queued behind it
during promotion wait with it, as they would for a real RRC setup. Activity is read from the
device end's interface counters through /proc/<pid>/net/dev of a sleeper process in the
device's namespace (a file read per poll, no process per poll).
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from ..topology.units import Duration

if TYPE_CHECKING:
    from ..backends.emulated import EmulatedRig


@dataclass
class Promotion:
    """One idle -> connected transition: when the radio went idle and when traffic woke it."""

    idle_at: float
    woke_at: float | None = None


@dataclass
class IdlePromotion:
    """Watch ``link`` of ``rig`` (its first endpoint is the device) and model RRC idle on its uplink."""

    rig: EmulatedRig
    link: str
    inactivity_s: float = 10.0
    penalty: Duration = field(default_factory=lambda: Duration(600_000.0))
    poll_s: float = 0.005
    promotions: list[Promotion] = field(default_factory=list, init=False)
    errors: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if not self.inactivity_s > 0 or not self.penalty.us > 0:
            raise ValueError(f"idle promotion on {self.link}: expected a positive inactivity and penalty, got "
                             f"{self.inactivity_s} s and {self.penalty}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"rrc-idle-{self.link}", daemon=True)
        self._sleeper: subprocess.Popen[bytes] | None = None

    def start(self) -> IdlePromotion:
        entry = next(lk for lk in self.rig.state["links"] if lk["name"] == self.link)
        device, self._ifname = entry["endpoints"][0].split(":", 1)
        self._sleeper = self.rig.popen(device, ["sleep", "infinity"])
        self._base = self.rig.intended(self.link)["up"]
        self._thread.start()
        return self

    def stop(self) -> list[Promotion]:
        """Stop watching and leave the uplink as it was before."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._sleeper is not None:
            self._sleeper.kill()
            self._sleeper.wait()
        return self.promotions

    def _counters(self) -> tuple[int, int]:
        assert self._sleeper is not None
        with open(f"/proc/{self._sleeper.pid}/net/dev", encoding="ascii") as stats:
            for line in stats:
                name, _, rest = line.partition(":")
                if name.strip() == self._ifname:
                    fields = rest.split()
                    return int(fields[1]), int(fields[9])  # rx packets, tx packets
        raise LookupError(f"interface {self._ifname} of link {self.link} is gone")

    def _set_uplink(self, idle: bool) -> None:
        delay = Duration((self._base.delay.us if self._base.delay else 0.0) + (self.penalty.us if idle else 0.0))
        wanted = self._base.merged(type(self._base)(delay=delay))
        self.rig.set_shaping(self.link, {"up": wanted})

    def _watch(self) -> None:
        idle = False
        try:
            last = self._counters()
            quiet_since = time.monotonic()
            while not self._stop.wait(self.poll_s):
                now_counters = self._counters()
                now = time.monotonic()
                if now_counters != last:
                    last = now_counters
                    quiet_since = now
                    if idle:
                        self._set_uplink(False)
                        idle = False
                        self.promotions[-1].woke_at = now
                elif not idle and now - quiet_since >= self.inactivity_s:
                    self._set_uplink(True)
                    idle = True
                    self.promotions.append(Promotion(now))
                    last = self._counters()  # the change itself sends nothing, but re-read to be sure
        except Exception as exc:  # noqa: BLE001 - reported through .errors, the test decides
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            if idle:
                try:
                    self._set_uplink(False)
                except Exception as exc:  # noqa: BLE001
                    self.errors.append(f"restoring {self.link}: {exc}")

    def __enter__(self) -> IdlePromotion:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
