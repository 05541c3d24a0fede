"""Radio state -> link shaping: which netem each direction of a modem's link gets, as a pure function.

The default table (:data:`DEFAULT_MAPPING`), every entry a library profile (profiles.yaml):

    ======================  =========================================================
    radio state             shaping of the link that goes ``via`` the modem
    ======================  =========================================================
    SA                      ``sa-lowband-2021`` (the only measured SA profile; slower
                            than NSA, as early commercial SA was)
    NSA (EN-DC)             ``nsa-lowband-measured``
    LTE                     ``lte-measured``
    no service              link down: ``loss 100%`` both ways, nothing else
    (searching, no coverage, LIMSRV, no SIM, RF off)
    handover (cell change)  the new state's shaping with ``loss 100%`` for
                            ``handover_blackout`` (50 ms), then the new state's shaping
    ======================  =========================================================

SINR degradation (**assumption**: no public figure behind it; set by this project, to be
calibrated against the rig's own modems). A severity ``s`` in [0, 1] falls linearly from 0 at
``good_db`` (13 dB: high-order MCS, no residual loss to speak of) to 1 at ``floor_db`` (-5 dB,
the cell-edge value of the emulator's ``fade``); at severity ``s`` the profile's loss gets
``s * max_extra_loss`` (10 %) added and its rate is multiplied by ``1 - s * (1 - min_rate_factor)``
(down to 10 % of the rate). The mapping is monotonic: lower SINR never gives less loss or more
rate. A profile without a rate keeps none (there is nothing to cut). At or above ``good_db`` the
shaping is exactly the profile's, so a read-back compares equal to the library's values.

Inputs come as a :class:`RadioView` built either from the emulator's control-channel state
(:meth:`RadioView.from_state`) or from what a test reads over AT (:meth:`RadioView.from_serving_cell`,
``AT+QENG="servingcell"``), so both sides of a test go through the same function.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..topology.library import library_profiles
from ..topology.model import Direction, Impairment, Profile, Topology
from ..topology.units import Percent, Rate

DIRECTIONS: tuple[Direction, Direction] = ("up", "down")
RATS = ("SA", "NSA", "LTE")
#: What a link does while the modem has no service: every packet lost, both ways.
LINK_DOWN = Impairment(loss=Percent(100.0))
#: Rates are rounded to whole kilobytes per second (tc keeps bytes per second) and never go below this.
MIN_RATE = Rate(8000.0)


@dataclass(frozen=True)
class RadioView:
    """What the mapping needs to know of a radio: RAT in service (None: none), SINR in dB, serving cell."""

    rat: str | None
    sinr: int | None = None
    cell: str | None = None

    def __post_init__(self) -> None:
        if self.rat is not None and self.rat not in RATS:
            raise ValueError(f"rat: expected one of {RATS} or None, got {self.rat!r}")

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RadioView:
        """From the emulator's control-channel state (``ControlClient.call("state")``)."""
        rat = state.get("rat")
        cell = state.get("cell") or {}
        return cls(rat, None if rat is None else state.get("sinr"), cell.get("name") if rat is not None else None)

    @classmethod
    def from_serving_cell(cls, serving: Any) -> RadioView:
        """From a parsed ``AT+QENG="servingcell"`` (:class:`testbed.drivers.at.ServingCell`).

        SEARCH and LIMSRV are "no service". SINR: the NR leg's for SA and NSA, the LTE leg's for LTE
        (Quectel codes LTE SINR in 2 dB steps, so an odd value reads one dB lower). The cell is
        named by its identities (the emulator's cell names do not go over the air).
        """
        if not serving.registered or serving.rat.name not in RATS:
            return cls(None)
        rat = serving.rat.name
        leg = serving.lte if rat == "LTE" else serving.nr
        ids = [f"{x.cell_id:X}" if x is not None and x.cell_id is not None else "-" for x in (serving.nr, serving.lte)]
        pcis = [str(x.pci) if x is not None and x.pci is not None else "-" for x in (serving.nr, serving.lte)]
        return cls(rat, leg.sinr if leg is not None else None, "/".join(ids + pcis))


@dataclass(frozen=True)
class SinrDegradation:
    """Extra loss and a rate cut as SINR falls (an assumption; see the module's documentation)."""

    good_db: float = 13.0
    floor_db: float = -5.0
    max_extra_loss: float = 10.0  # percent added at (and below) floor_db
    min_rate_factor: float = 0.1  # fraction of the profile's rate left at (and below) floor_db

    def __post_init__(self) -> None:
        if not self.floor_db < self.good_db:
            raise ValueError(f"SINR degradation: floor_db ({self.floor_db}) must be below good_db ({self.good_db})")
        if not 0.0 <= self.max_extra_loss <= 100.0 or not 0.0 < self.min_rate_factor <= 1.0:
            raise ValueError("SINR degradation: max_extra_loss must be 0..100 and min_rate_factor in (0, 1]")

    def severity(self, sinr: float | None) -> float:
        """0 (no degradation) at or above good_db, 1 at or below floor_db, linear between; None -> 0."""
        if sinr is None or sinr >= self.good_db:
            return 0.0
        if sinr <= self.floor_db:
            return 1.0
        return (self.good_db - sinr) / (self.good_db - self.floor_db)

    def apply(self, imp: Impairment, sinr: float | None) -> Impairment:
        s = self.severity(sinr)
        if s == 0.0:
            return imp
        base = imp.loss.value if imp.loss is not None else 0.0
        loss = Percent(round(min(100.0, base + s * self.max_extra_loss), 2))  # tc keeps ~1e-9 steps
        changes: dict[str, Any] = {"loss": loss}
        if imp.rate is not None:
            bps = imp.rate.bps * (1.0 - s * (1.0 - self.min_rate_factor))
            changes["rate"] = Rate(max(MIN_RATE.bps, math.floor(bps / 8000.0) * 8000.0))
        return dataclasses.replace(imp, **changes)


def _default_profiles() -> dict[str, str]:
    return {"SA": "sa-lowband-2021", "NSA": "nsa-lowband-measured", "LTE": "lte-measured"}


@dataclass(frozen=True)
class CouplingMap:
    """The data-driven table: a profile per RAT, the SINR degradation, the handover blackout.

    ``profiles`` may name any profile of ``library`` (default: the shipped library; pass a
    topology's ``profiles`` to use the topology's own, ``extends`` chains included).
    """

    profiles: Mapping[str, str] = field(default_factory=_default_profiles)
    sinr: SinrDegradation = field(default_factory=SinrDegradation)
    handover_blackout: float = 0.05  # seconds: measured HO execution is 30-100 ms (topology model)
    library: Mapping[str, Profile] | None = None

    def __post_init__(self) -> None:
        missing = [rat for rat in RATS if rat not in self.profiles]
        unknown = [name for name in self.profiles.values() if name not in self._library()]
        if missing or unknown:
            raise ValueError(f"coupling map: a profile for every RAT {RATS} is needed (missing {missing}); "
                             f"unknown profiles {unknown}")
        if self.handover_blackout < 0:
            raise ValueError(f"handover_blackout: expected seconds >= 0, got {self.handover_blackout}")

    def _library(self) -> Mapping[str, Profile]:
        return self.library if self.library is not None else library_profiles()

    def profile_impairment(self, rat: str, direction: Direction) -> Impairment:
        """The RAT's profile for one direction, undegraded (``extends`` folded in)."""
        topo = Topology(name="coupling", profiles=dict(self._library()))
        return topo.profile_impairment(self.profiles[rat], direction)

    def impairment(self, view: RadioView, direction: Direction) -> Impairment:
        """What one direction of the link does in this radio state."""
        if view.rat is None:
            return LINK_DOWN
        return self.sinr.apply(self.profile_impairment(view.rat, direction), view.sinr)

    def shaping(self, view: RadioView) -> dict[str, Impairment]:
        """Both directions: the value for ``rig.set_shaping(link, ...)``."""
        return {d: self.impairment(view, d) for d in DIRECTIONS}

    def blackout(self, view: RadioView) -> dict[str, Impairment]:
        """During a handover: the state's shaping with every packet lost (as timeline handovers do)."""
        return {d: blacked_out(imp) for d, imp in self.shaping(view).items()}


def blacked_out(imp: Impairment) -> Impairment:
    """``imp`` with loss 100 % (no loss correlation, no Gilbert-Elliott, no ECN marking instead of loss)."""
    return dataclasses.replace(imp, loss=Percent(100.0), loss_correlation=None, gemodel=None, ecn=None)


DEFAULT_MAPPING = CouplingMap()
