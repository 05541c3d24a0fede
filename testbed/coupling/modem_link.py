"""Keep a link's shaping in step with the emulated modem that carries it.

    coupler = ModemLinkCoupler(rig, "ue-edge", "/run/testbed/rigs/r/modems/m1/control").start()
    ...                          # scenario steps on the control socket: coverage, handover, signal
    coupler.stop()
    coupler.changes              # every shaping applied, with times and the radio state behind it

How the radio state is watched: the control channel (devices/modem/control.py) answers requests
and has no subscription, so the coupler polls ``{"op": "state"}`` on its own connection every
``poll_interval`` (50 ms). A poll is a few hundred bytes over a Unix socket; the shaping changes
only when the mapped value does (:class:`~testbed.coupling.mapping.CouplingMap`), so a steady
radio costs no ``tc`` calls. A change of serving cell while in service on both sides is a
handover: the new state's shaping with loss 100 % for ``mapping.handover_blackout`` seconds,
then the new state's shaping (the emulator itself switches cells at once, as its AT view does).

``start()`` applies the current state before it returns, so right after it the link matches
the radio. Shaping errors are recorded (``AppliedChange.error``) and the watch goes on; a lost
control socket ends the watch and is recorded the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from devices.modem.control import ControlClient, ControlError

from ..topology.model import Impairment
from .mapping import DEFAULT_MAPPING, CouplingMap, RadioView


class ShapeableRig(Protocol):
    state: dict[str, Any]

    def set_shaping(self, link: str, wanted: dict[str, Impairment]) -> dict[str, Impairment | None]: ...


@dataclass(frozen=True)
class AppliedChange:
    """One shaping applied: why, for which radio state, when (monotonic and wall clock), how long it took."""

    reason: str  # initial, rat, sinr, coverage, handover-blackout, handover-attach, error
    view: RadioView
    shaping: dict[str, Impairment]
    at: float  # time.monotonic() when applied
    wall: float  # time.time() when applied
    apply_ms: float
    error: str | None = None


class ModemLinkCoupler:
    """Watches one emulator's radio through its control socket and shapes ``link`` of ``rig`` to match."""

    def __init__(self, rig: ShapeableRig, link_name: str, control_socket_path: str | Path,
                 mapping: CouplingMap = DEFAULT_MAPPING, poll_interval: float = 0.05) -> None:
        if not any(lk["name"] == link_name for lk in rig.state["links"]):
            from ..errors import RigNotFound

            names = ", ".join(lk["name"] for lk in rig.state["links"])
            raise RigNotFound(f"rig {rig.state.get('rig')!r} has no link {link_name!r}; its links: {names}")
        self.rig = rig
        self.link = link_name
        self.control_path = Path(control_socket_path)
        self.mapping = mapping
        self.poll_interval = poll_interval
        self.changes: list[AppliedChange] = []
        self.view: RadioView | None = None
        self._applied: dict[str, Impairment] | None = None
        self._client: ControlClient | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ModemLinkCoupler:
        if self._thread is not None:
            raise RuntimeError("coupler already started")
        self._client = ControlClient(self.control_path)
        view = RadioView.from_state(self._client.call("state"))
        self._apply("initial", view, self.mapping.shaping(view))
        self.view = view
        self._thread = threading.Thread(target=self._run, name=f"coupler {self.link}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[AppliedChange]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._client is not None:
            self._client.close()
            self._client = None
        return list(self.changes)

    def __enter__(self) -> ModemLinkCoupler:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # waiting (for tests and scenarios) ---------------------------------------------------------

    def wait_for(self, predicate: Callable[[AppliedChange], bool], timeout: float = 10.0,
                 since: int = 0) -> AppliedChange:
        """The first change from index ``since`` on for which ``predicate`` holds; TimeoutError if none comes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for change in self.changes[since:]:
                    if predicate(change):
                        return change
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"link {self.link}: no matching shaping change within {timeout:g} s; "
                                       f"changes so far: {[c.reason for c in self.changes]}")
                self._changed.wait(min(left, 0.5))

    # the watch ---------------------------------------------------------------------------------

    def _poll(self) -> RadioView:
        assert self._client is not None
        return RadioView.from_state(self._client.call("state"))

    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                view = self._poll()
                before = self.view
                assert before is not None
                if before.rat is not None and view.rat is not None and view.cell != before.cell:
                    self._apply("handover-blackout", view, self.mapping.blackout(view), force=True)
                    self.view = view
                    if self._stop.wait(self.mapping.handover_blackout):
                        return
                    view = self._poll()
                    self._apply("handover-attach", view, self.mapping.shaping(view), force=True)
                    self.view = view
                    continue
                wanted = self.mapping.shaping(view)
                if wanted != self._applied:
                    reason = ("coverage" if (before.rat is None) != (view.rat is None)
                              else "rat" if view.rat != before.rat
                              else "sinr" if view.sinr != before.sinr else "retry")
                    self._apply(reason, view, wanted)
                self.view = view
            except (OSError, ValueError, ControlError) as exc:  # the emulator went away
                self._record(AppliedChange("error", self.view or RadioView(None), {}, time.monotonic(), time.time(),
                                           0.0, f"control socket {self.control_path}: {exc}"))
                return

    def _apply(self, reason: str, view: RadioView, wanted: dict[str, Impairment], force: bool = False) -> None:
        if not force and wanted == self._applied:
            return
        begun = time.monotonic()
        error = None
        try:
            self.rig.set_shaping(self.link, wanted)
            self._applied = wanted
        except Exception as exc:  # recorded; the watch goes on and retries on the next poll
            error = f"{type(exc).__name__}: {exc}"
            self._applied = None
        done = time.monotonic()
        self._record(AppliedChange(reason, view, wanted, done, time.time(), (done - begun) * 1000, error))

    def _record(self, change: AppliedChange) -> None:
        with self._changed:
            self.changes.append(change)
            self._changed.notify_all()
