"""The radio behind the emulated modem: which cell it is on, on which RAT, how well it hears it.

One :class:`Radio` is shared by every AT port of one emulated module (the pty and RFC 2217 ports
are two views of the same radio, as if02 and if03 are on a real module). The AT firmware reads it
to answer queries; scenario steps (from the control channel) change it. Every change is reported
to listeners as :class:`Event` values (registration changed, PDN went down, RAT changed, ...), and
each AT port turns those into the URCs its own settings (``+CEREG=2``, ``+CGEREP``, ``+QINDCFG``)
ask for, the way the real firmware does.

RAT selection follows the module: the best RAT that both the network offers at the serving cell
(``Cell.offers``) and the configuration allows (``mode_pref``, ``nr5g_disable_mode``) wins, in the
order SA, NSA (EN-DC), LTE. Registration takes ``attach_delay`` seconds after RF comes on.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

RATS = ("SA", "NSA", "LTE")
RRC_STATES = ("NOCONN", "CONNECT")


@dataclass(frozen=True)
class Cell:
    """A site: the NR cell and its LTE anchor/fallback cell, and which RATs the network offers there."""

    name: str
    offers: tuple[str, ...] = RATS
    mcc: str = "001"
    mnc: str = "01"
    operator: str = "TESTBED 5G"
    duplex: str = "TDD"
    nr_cell_id: int = 0x9013B004
    nr_pci: int = 299
    nr_tac: int = 0x690E0F
    nr_arfcn: int = 633984
    nr_band: int = 78
    nr_bandwidth: int = 12  # enum: 100 MHz
    scs: int = 1  # enum: 30 kHz
    lte_duplex: str = "FDD"
    lte_cell_id: int = 0x5F1EA15
    lte_pci: int = 12
    lte_tac: int = 0xDE10
    earfcn: int = 1650
    lte_band: int = 3
    lte_bandwidth: int = 5  # enum: 20 MHz

    def __post_init__(self) -> None:
        bad = [r for r in self.offers if r not in RATS]
        if bad:
            raise ValueError(f"cell {self.name}: offers: expected RATs from {RATS}, got {bad}")


DEFAULT_CELLS = {
    "site-a": Cell("site-a"),
    "site-b": Cell("site-b", nr_cell_id=0x9013B005, nr_pci=300, nr_tac=0x690E10, nr_arfcn=641280,
                   lte_cell_id=0x5F1EA16, lte_pci=13, lte_tac=0xDE11, earfcn=1850),
    "lte-only": Cell("lte-only", offers=("LTE",), lte_cell_id=0x1A2B3C4, lte_pci=77, lte_tac=0x2F00, earfcn=300,
                     lte_band=1, lte_bandwidth=3),
}


@dataclass
class Pdp:
    """One PDP context: defined by +CGDCONT, active or not, with the address the network gave it."""

    pdp_type: str
    apn: str
    active: bool = False
    ipv4: str | None = None
    ipv6: str | None = None


@dataclass(frozen=True)
class Event:
    """Something a URC may report: ``kind`` is reg, pdn, act, csq, sim, boot, urc or powered_down."""

    kind: str
    data: tuple = ()


@dataclass(frozen=True)
class RegView:
    """What +CREG, +CEREG or +C5GREG shows: stat, area code, cell id and AcT (None when unregistered)."""

    stat: int
    area: int | None = None
    cell_id: int | None = None
    act: int | None = None


@dataclass
class RadioState:
    """Everything the firmware answers from; scenario steps mutate it through :class:`Radio`."""

    cell: Cell = field(default_factory=lambda: DEFAULT_CELLS["site-a"])
    covered: bool = True
    sim_present: bool = True
    limited: bool = False  # camped, registration rejected: LIMSRV
    cfun: int = 1
    powered: bool = True
    attached: bool = False  # set attach_delay after RF on
    rsrp: int = -85
    rsrq: int = -10
    sinr: int = 18
    mode_pref: tuple[str, ...] = ("AUTO",)
    nr5g_disable_mode: int = 0
    usbnet: int = 0
    bands: dict[str, str] = field(default_factory=lambda: {
        "nr5g_band": "1:3:7:28:41:77:78:79", "nsa_nr5g_band": "1:3:7:28:41:77:78:79",
        "lte_band": "1:3:5:7:8:20:28:38:40:41", "rat_acq_order": "NR5G:LTE:WCDMA"})
    pdp: dict[int, Pdp] = field(default_factory=lambda: {1: Pdp("IP", "internet")})


class Radio:
    """The shared radio model; all mutation happens under ``lock`` (an RLock shared with the AT ports)."""

    def __init__(self, *, attach_delay: float = 0.05, cells: dict[str, Cell] | None = None) -> None:
        self.lock = threading.RLock()
        self.cells = dict(cells or DEFAULT_CELLS)
        self.state = RadioState()
        self.attach_delay = attach_delay
        self._listeners: list[Callable[[Event], None]] = []
        self._timer: threading.Timer | None = None
        self._address_seq = 1
        self._fade: threading.Thread | None = None
        self._fade_stop = threading.Event()
        self._schedule_attach()

    # derived views ---------------------------------------------------------------------------

    def rat(self) -> str | None:
        """The RAT in use, or None when not registered (searching, RF off, no SIM, limited)."""
        s = self.state
        if not (s.powered and s.cfun == 1 and s.sim_present and s.covered and s.attached and not s.limited):
            return None
        return self.camped_rat()

    def camped_rat(self) -> str | None:
        """The RAT it would camp on, ignoring registration (LIMSRV still shows one)."""
        s = self.state
        if not (s.powered and s.cfun == 1 and s.covered):
            return None
        allowed = set()
        modes = set(s.mode_pref)
        if "AUTO" in modes or "NR5G" in modes:
            allowed.add("SA")
        if "AUTO" in modes or ("LTE" in modes and "NR5G" in modes):
            allowed.add("NSA")
        if "AUTO" in modes or "LTE" in modes:
            allowed.add("LTE")
        if s.nr5g_disable_mode == 1:
            allowed.discard("SA")
        if s.nr5g_disable_mode == 2:
            allowed.discard("NSA")
        for rat in RATS:
            if rat in allowed and rat in s.cell.offers:
                return rat
        return None

    def rrc(self) -> str:
        return "CONNECT" if any(p.active for p in self.state.pdp.values()) else "NOCONN"

    def searching(self) -> bool:
        s = self.state
        return s.powered and s.cfun == 1 and s.sim_present and self.rat() is None

    def reg_views(self) -> dict[str, RegView]:
        """+CREG/+CEREG/+C5GREG as the module would report them now."""
        rat, cell = self.rat(), self.state.cell
        idle = RegView(2 if self.searching() and not self.state.limited else (3 if self.state.limited else 0))
        views = {"CREG": idle, "CEREG": idle, "C5GREG": idle}
        if rat == "SA":
            views["CEREG"] = views["CREG"] = RegView(0)
            views["C5GREG"] = RegView(1, cell.nr_tac, cell.nr_cell_id, 11)
        elif rat in ("NSA", "LTE"):
            act = 13 if rat == "NSA" else 7
            views["CREG"] = views["CEREG"] = RegView(1, cell.lte_tac, cell.lte_cell_id, act)
            views["C5GREG"] = RegView(0)
        return views

    def snapshot(self) -> dict:
        """The state as JSON-ready data (the control channel's ``state`` answer)."""
        s = self.state
        return {
            "cell": dataclasses.asdict(s.cell), "rat": self.rat(), "camped_rat": self.camped_rat(), "rrc": self.rrc(),
            "covered": s.covered, "sim_present": s.sim_present, "limited": s.limited, "cfun": s.cfun,
            "powered": s.powered, "attached": s.attached, "rsrp": s.rsrp, "rsrq": s.rsrq, "sinr": s.sinr,
            "mode_pref": list(s.mode_pref), "nr5g_disable_mode": s.nr5g_disable_mode,
            "pdp": {cid: dataclasses.asdict(p) for cid, p in s.pdp.items()},
            "registration": {k: dataclasses.asdict(v) for k, v in self.reg_views().items()},
        }

    # listeners -------------------------------------------------------------------------------

    def listen(self, callback: Callable[[Event], None]) -> None:
        with self.lock:
            self._listeners.append(callback)

    def unlisten(self, callback: Callable[[Event], None]) -> None:
        with self.lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def emit(self, event: Event) -> None:
        with self.lock:
            for listener in list(self._listeners):
                listener(event)

    def change(self, mutate: Callable[[RadioState], None]) -> None:
        """Apply ``mutate`` and report what changed: registration, RAT, PDN contexts, signal."""
        with self.lock:
            before_views, before_rat = self.reg_views(), self.rat()
            before_pdn = {cid for cid, p in self.state.pdp.items() if p.active}
            mutate(self.state)
            self._clamp()
            if self.rat() is None:  # no bearer without registration: the network drops the PDN
                for cid in sorted(before_pdn):
                    self.state.pdp[cid].active = False
                    self.state.pdp[cid].ipv4 = self.state.pdp[cid].ipv6 = None
                    self.emit(Event("pdn", ("DEACT", cid)))
            elif before_rat is None and 1 in self.state.pdp and not self.state.pdp[1].active:
                self._activate(1)  # attach brings up the default bearer on cid 1
                self.emit(Event("pdn", ("ACT", 1)))
            after_views = self.reg_views()
            for kind in ("CREG", "CEREG", "C5GREG"):
                if after_views[kind] != before_views[kind]:
                    self.emit(Event("reg", (kind, after_views[kind], before_views[kind])))
            if self.rat() != before_rat:
                self.emit(Event("act", (self.rat(),)))
            self.emit(Event("csq", ()))

    def _clamp(self) -> None:
        s = self.state
        s.rsrp = max(-140, min(-44, int(s.rsrp)))
        s.rsrq = max(-20, min(-3, int(s.rsrq)))
        s.sinr = max(-20, min(40, int(s.sinr)))

    def _activate(self, cid: int) -> None:
        pdp = self.state.pdp[cid]
        self._address_seq += 1
        pdp.active = True
        host = self._address_seq % 250 + 2
        if pdp.pdp_type in ("IP", "IPV4V6"):
            pdp.ipv4 = f"10.45.{cid}.{host}"
        if pdp.pdp_type in ("IPV6", "IPV4V6"):
            pdp.ipv6 = str(ipaddress.IPv6Address(f"2001:db8:{cid:x}::{host:x}"))

    # AT-side operations (called by the firmware under lock) ------------------------------------

    def set_cfun(self, fun: int) -> None:
        def mutate(s: RadioState) -> None:
            s.cfun = fun
            if fun != 1:
                s.attached = False
        with self.lock:
            self.change(mutate)
            self._schedule_attach()

    def activate(self, cid: int, active: bool) -> None:
        with self.lock:
            pdp = self.state.pdp[cid]
            if pdp.active == active:
                return
            if active:
                self._activate(cid)
            else:
                pdp.active, pdp.ipv4, pdp.ipv6 = False, None, None
            self.emit(Event("pdn", ("ACT" if active else "DEACT", cid)))

    def reboot(self, delay: float) -> None:
        """``AT+CFUN=1,1``: the module resets; ``RDY`` and the SIM URCs follow after ``delay``."""
        def boot() -> None:
            with self.lock:
                self.change(lambda s: setattr(s, "powered", True))
                self.emit(Event("boot"))
                self._schedule_attach()

        with self.lock:
            self.change(_setting(powered=False, attached=False, cfun=1))
            self.emit(Event("reset"))
        timer = threading.Timer(delay, boot)
        timer.daemon = True
        timer.start()

    def power_down(self) -> None:
        with self.lock:
            self.emit(Event("powered_down"))
            self.change(_setting(powered=False, attached=False))

    def _schedule_attach(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        s = self.state
        if s.attached or not (s.powered and s.cfun == 1):
            return

        def attach() -> None:
            self.change(lambda st: setattr(st, "attached", st.powered and st.cfun == 1))

        if self.attach_delay <= 0:
            attach()
            return
        self._timer = threading.Timer(self.attach_delay, attach)
        self._timer.daemon = True
        self._timer.start()

    # scenario steps (the control channel) ------------------------------------------------------

    def set_signal(self, rsrp: int | None = None, rsrq: int | None = None, sinr: int | None = None) -> None:
        def mutate(s: RadioState) -> None:
            s.rsrp = s.rsrp if rsrp is None else rsrp
            s.rsrq = s.rsrq if rsrq is None else rsrq
            s.sinr = s.sinr if sinr is None else sinr
        self.change(mutate)

    def fade(self, rsrp: int, rsrq: int, sinr: int, seconds: float, steps: int = 10) -> None:
        """Ramp the levels linearly to the target over ``seconds`` (cell edge: -120, -17, -5)."""
        self._fade_stop.set()
        if self._fade is not None:
            self._fade.join()
        self._fade_stop = stop = threading.Event()
        with self.lock:
            start = (self.state.rsrp, self.state.rsrq, self.state.sinr)

        def run() -> None:
            for i in range(1, steps + 1):
                if stop.wait(seconds / steps):
                    return
                k = i / steps
                self.set_signal(*(round(a + (b - a) * k) for a, b in zip(start, (rsrp, rsrq, sinr), strict=True)))

        self._fade = threading.Thread(target=run, name="radio-fade", daemon=True)
        self._fade.start()

    def handover(self, cell: str) -> None:
        """Move to another defined cell (``site-b``, ``lte-only``): new identities, new area codes."""
        if cell not in self.cells:
            raise ValueError(f"handover: expected a cell from {sorted(self.cells)}, got {cell!r}")
        self.change(lambda s: setattr(s, "cell", self.cells[cell]))

    def set_offers(self, rats: list[str]) -> None:
        """What the network offers here: ``["LTE"]`` forces an LTE fallback; ``[]`` is lost coverage."""
        bad = [r for r in rats if r not in RATS]
        if bad:
            raise ValueError(f"coverage: expected RATs from {RATS}, got {bad}")

        def mutate(s: RadioState) -> None:
            s.cell = dataclasses.replace(s.cell, offers=tuple(rats))
            s.covered = bool(rats)
        self.change(mutate)

    def set_covered(self, covered: bool) -> None:
        self.change(lambda s: setattr(s, "covered", covered))

    def set_limited(self, limited: bool) -> None:
        self.change(lambda s: setattr(s, "limited", limited))

    def set_sim(self, present: bool) -> None:
        with self.lock:
            self.change(lambda s: setattr(s, "sim_present", present))
            self.emit(Event("sim", (present,)))

    def power_on(self, delay: float = 0.0) -> None:
        if not self.state.powered:
            self.reboot(delay)

    def close(self) -> None:
        self._fade_stop.set()
        if self._timer is not None:
            self._timer.cancel()


def _setting(**values: object) -> Callable[[RadioState], None]:
    """A change that sets several fields of the radio state at once."""
    def apply(state: RadioState) -> None:
        for name, value in values.items():
            setattr(state, name, value)
    return apply
