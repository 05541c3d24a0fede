"""The emulated AT firmware of one port: line discipline, the command table, URC formatting.

Bytes in, bytes out: :meth:`AtPort.feed` takes whatever arrived on the wire, and everything the
port says goes through the ``write`` callable it was built with. No transport knowledge here; the
pty and RFC 2217 transports in :mod:`.transport` just move bytes.

Line discipline (docs/reference/modem-at.md §1), as the RM520N does it:

- a command line ends at CR; LF is ignored; bytes before the first ``AT``/``at`` are dropped, and a
  line without one gets no answer (only its echo);
- echo on by default (``ATE1``), the raw line echoed back with its CR before any answer;
- responses framed ``<CR><LF>text<CR><LF>``, lines of one answer separated by ``<CR><LF>``;
- ``;`` chains commands; the first failure ends the line with its error and no ``OK``;
- ``+CMEE=0`` plain ``ERROR``, ``=1`` ``+CME ERROR: <n>``, ``=2`` ``+CME ERROR: <text>``; syntax errors,
  unknown commands and Quectel-proprietary commands (``+QENG``, ``+QCFG``, ``+QNWPREFCFG``, ...)
  answer plain ``ERROR`` whatever ``+CMEE`` says;
- a line longer than :data:`MAX_LINE` bytes is discarded and answered ``ERROR``;
- URCs raised while a command runs are held and sent after its final result code (as the module's
  URC cache does); otherwise they go out at once, framed like responses.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from devices.wire.at import split_chain

from .radio import Event, Radio, RegView

MAX_LINE = 1024

CME_TEXT = {
    0: "phone failure", 1: "no connection to phone", 3: "operation not allowed", 4: "operation not supported",
    5: "PH-SIM PIN required", 10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required",
    13: "SIM failure", 14: "SIM busy", 15: "SIM wrong", 16: "incorrect password", 20: "memory full",
    21: "invalid index", 22: "not found", 23: "memory failure", 24: "text string too long",
    30: "no network service", 31: "network timeout", 32: "network not allowed - emergency calls only",
    515: "device busy",
}


@dataclass(frozen=True)
class Dialect:
    """What differs between module families and firmware versions."""

    model: str
    revision: str
    nsa_fields: int  # fields of the +QENG "NR5G-NSA" line: 11 (RM520N), 9 (older RM500Q firmware)
    long_cgdcont: bool  # RM520N prints the 5G tail of +CGDCONT


DIALECTS = {
    # Revision strings: RM500Q from the reference's field capture; RM520N made up in the same pattern.
    "RM520N": Dialect("RM520N-GL", "RM520NGLAAR03A03M4G", nsa_fields=11, long_cgdcont=True),
    "RM500Q": Dialect("RM500Q-GL", "RM500QGLABR11A06M4G", nsa_fields=9, long_cgdcont=False),
}

PROPRIETARY = frozenset({"+QENG", "+QCFG", "+QNWPREFCFG", "+QINDCFG", "+QRSRP", "+QRSRQ", "+QSINR", "+QNWINFO",
                         "+QPOWD"})
QIND_TYPES = ("all", "csq", "smsfull", "ring", "smsincoming", "act")
MODE_NAMES = ("AUTO", "WCDMA", "LTE", "NR5G")

# The URCs chaos mode sprinkles between lines: every shape the client must route away from answers,
# including registration URCs that share a prefix with the registration reads.
CHAOS_URCS = (
    '+QIND: "csq",20,99', '+QIND: "act","NR5G"', "+CGEV: PDN ACT 1", "+CEREG: 1",
    '+CEREG: 1,"DE10","5F1EA15",7', "+C5GREG: 2", '+C5GREG: 1,"690E0F","9013B004",11', "+CREG: 0",
    '+CREG: 1,"D509","80D413D",7', "+QUSIM: 1", '+QIND: "FOTA","START"', "+CGEV: ME DETACH",
)


class CommandError(Exception):
    """Ends the command line: ``cme`` is the +CME code, or None for a plain ``ERROR``."""

    def __init__(self, cme: int | None = None) -> None:
        self.cme = cme


@dataclass
class Command:
    """One element of a command line: ``+CFUN`` with mode ``set`` and args ``["1", "1"]``, or ``E`` basic."""

    name: str
    mode: str  # exec, read, test, set
    args: list[str]
    raw: str


_EXTENDED = re.compile(r"^(\+[A-Z0-9]+)(=\?|\?|=(.*))?$", re.S)
_BASIC = re.compile(r"^(&?[A-Z])(\d*)")
_PREFIX_AT = re.compile("AT|at")


def split_args(text: str) -> list[str]:
    args, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == "," and not quoted:
            args.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if quoted:
        raise CommandError()
    args.append("".join(current).strip())
    return args


def unquote(arg: str) -> str:
    return arg[1:-1] if len(arg) >= 2 and arg[0] == arg[-1] == '"' else arg


def parse_line(body: str) -> list[Command]:
    """Split the text after ``AT`` into commands; a syntax error raises :class:`CommandError`."""
    elements = split_chain(body)
    commands: list[Command] = []
    for index, element in enumerate(elements):
        text = element.strip()
        if not text:
            if index == 0 and len(elements) == 1:
                return []  # plain AT
            if index == len(elements) - 1:
                continue  # trailing ';'
            raise CommandError()
        upper = _upper_outside_quotes(text)
        while upper and not upper.startswith("+"):  # basic commands: E0, I, Z, V1, &F ...
            match = _BASIC.match(upper)
            if not match:
                raise CommandError()
            commands.append(Command(match.group(1), "set", [match.group(2)], match.group(0)))
            upper = upper[match.end():]
        if upper:
            match = _EXTENDED.match(upper)
            if not match:
                raise CommandError()
            suffix = match.group(2) or ""
            mode = {"": "exec", "?": "read", "=?": "test"}.get(suffix, "set")
            commands.append(Command(match.group(1), mode, split_args(match.group(3)) if mode == "set" else [], upper))
    return commands


def _upper_outside_quotes(text: str) -> str:
    parts = text.split('"')
    return '"'.join(p.upper() if i % 2 == 0 else p for i, p in enumerate(parts))


class AtPort:
    """One AT port of the emulated module, with its own echo/CMEE/URC settings over the shared radio."""

    def __init__(self, radio: Radio, write: Callable[[bytes], None], dialect: Dialect = DIALECTS["RM520N"],
                 *, boot_delay: float = 0.2) -> None:
        self.radio = radio
        self.dialect = dialect
        self._write = write
        self.boot_delay = boot_delay
        self._buffer = bytearray()
        self._overlong = False
        self._busy = False
        self._held: list[str] = []
        self.chaos_rate = 0.0
        self._last_csq: tuple[int, int] | None = None
        self._chaos = random.Random(0)
        self.reset_settings()
        with radio.lock:
            self._last_csq = self._csq()
            radio.listen(self.on_event)

    def reset_settings(self) -> None:
        """Factory/power-on defaults of the per-port settings."""
        self.echo = True
        self.cmee = 1
        self.reg_n = {"CREG": 0, "CEREG": 0, "C5GREG": 0}
        self.cgerep = (0, 0)
        self.qind = {"csq": 0, "act": 0, "smsfull": 0, "ring": 1, "smsincoming": 1}

    def close(self) -> None:
        self.radio.unlisten(self.on_event)

    def set_chaos(self, rate: float, seed: int = 0) -> None:
        """Insert a random URC between any two output lines with probability ``rate`` (stress tests)."""
        with self.radio.lock:
            self.chaos_rate = rate
            self._chaos = random.Random(seed)

    # input -------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        with self.radio.lock:
            for byte in data:
                if byte == 13:
                    line = bytes(self._buffer)
                    self._buffer.clear()
                    overlong, self._overlong = self._overlong, False
                    self._line(line, overlong)
                elif byte == 10:
                    continue
                elif len(self._buffer) >= MAX_LINE:
                    self._overlong = True
                else:
                    self._buffer.append(byte)

    def _line(self, raw: bytes, overlong: bool) -> None:
        if not self.radio.state.powered:
            return  # off: bytes fall on the floor
        out: list[str] = []
        if self.echo and not overlong:
            self._send_raw(raw + b"\r")
        if overlong:
            self._send_lines(["ERROR"])
            return
        text = raw.decode("latin-1")
        found = _PREFIX_AT.search(text)
        if found is None:
            return
        body = text[found.end():]
        self._busy = True
        try:
            try:
                for command in parse_line(body):
                    out.extend(self._execute(command))
                out.append("OK")
            except CommandError as exc:
                out.append(self._error(exc.cme))
            self._send_lines(out)
        finally:
            self._busy = False
            held, self._held = self._held, []
            for urc in held:
                self._send_lines([urc])

    def _error(self, cme: int | None) -> str:
        if cme is None or self.cmee == 0:
            return "ERROR"
        if self.cmee == 2:
            return f"+CME ERROR: {CME_TEXT.get(cme, str(cme))}"
        return f"+CME ERROR: {cme}"

    # output ------------------------------------------------------------------------------------

    def _send_raw(self, data: bytes) -> None:
        self._write(data)

    def _send_lines(self, lines: list[str]) -> None:
        """Frame a response: CR LF, the lines joined by CR LF, CR LF; the final code in a frame of its own."""
        pieces: list[bytes] = []
        for i, line in enumerate(lines):
            final = i == len(lines) - 1 and len(lines) > 1
            lead = b"\r\n" if i == 0 or final else b""
            pieces.append(lead + line.encode("latin-1", "replace") + b"\r\n")
        if self.chaos_rate > 0:
            mixed = []
            for piece in pieces:
                if self._chaos.random() < self.chaos_rate:
                    mixed.append(b"\r\n" + self._chaos.choice(CHAOS_URCS).encode() + b"\r\n")
                mixed.append(piece)
            if self._chaos.random() < self.chaos_rate:
                mixed.append(b"\r\n" + self._chaos.choice(CHAOS_URCS).encode() + b"\r\n")
            pieces = mixed
        self._write(b"".join(pieces))

    def urc(self, line: str) -> None:
        with self.radio.lock:
            if not self.radio.state.powered and line != "POWERED DOWN":
                return
            if self._busy:
                self._held.append(line)
            else:
                self._send_lines([line])

    def on_event(self, event: Event) -> None:
        """Turn a radio event into the URCs this port's settings ask for."""
        kind, data = event.kind, event.data
        if kind == "reg":
            name, view = data[0], data[1]
            line = self._reg_urc(name, view, data[2])
            if line:
                self.urc(line)
        elif kind == "pdn":
            if self.cgerep[0] >= 1:
                action, cid = data
                self.urc(f"+CGEV: PDN {action} {cid}")
        elif kind == "act":
            if self.qind["act"]:
                self.urc(f'+QIND: "act","{_act_name(data[0])}"')
        elif kind == "csq":
            csq = self._csq()
            if self.qind["csq"] and csq != self._last_csq:
                self.urc(f'+QIND: "csq",{csq[0]},{csq[1]}')
            self._last_csq = csq
        elif kind == "boot":
            self.reset_settings()
            for line in ("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"):
                self.urc(line)
        elif kind == "reset":
            self._buffer.clear()
        elif kind == "powered_down":
            self.urc("POWERED DOWN")
        elif kind == "sim":
            self.urc("+CPIN: READY" if data[0] else "+CPIN: NOT READY")
        elif kind == "urc":
            self.urc(data[0])

    def _reg_urc(self, name: str, view: RegView, before: RegView) -> str | None:
        n = self.reg_n[name]
        if n == 0 or (n == 1 and view.stat == before.stat):
            return None
        return f"+{name}: " + ",".join(_reg_fields(view, n))

    # the command table -------------------------------------------------------------------------

    def _execute(self, cmd: Command) -> list[str]:
        handler = _BASIC_TABLE.get(cmd.name) if not cmd.name.startswith("+") else _TABLE.get(cmd.name)
        if handler is None:
            raise CommandError()  # unknown command: plain ERROR whatever +CMEE says
        try:
            return handler(self, cmd)
        except CommandError as exc:
            if cmd.name in PROPRIETARY:
                raise CommandError() from None
            raise exc
        except (ValueError, IndexError, KeyError):
            raise CommandError() from None

    def _csq(self) -> tuple[int, int]:
        rat = self.radio.rat()
        if rat not in ("LTE", "NSA"):
            return (99, 99)
        rssi_dbm = self.radio.state.rsrp + 25
        return (max(0, min(31, (rssi_dbm + 113) // 2)), 99)


def _act_name(rat: str | None) -> str:
    return {"SA": "NR5G-SA", "NSA": "NR5G-NSA", "LTE": "LTE", None: "UNKNOWN"}[rat]


def _reg_fields(view: RegView, n: int) -> list[str]:
    fields = [str(view.stat)]
    if n >= 2 and view.area is not None:
        width = 6 if view.act == 11 else 4
        fields += [f'"{view.area:0{width}X}"', f'"{view.cell_id:X}"', str(view.act)]
    return fields


# handlers ------------------------------------------------------------------------------------------


def _int_arg(cmd: Command, index: int, allowed: tuple[int, ...]) -> int:
    if index >= len(cmd.args) or not cmd.args[index].isdigit() or int(cmd.args[index]) not in allowed:
        raise CommandError()
    return int(cmd.args[index])


def _basic_e(port: AtPort, cmd: Command) -> list[str]:
    port.echo = _int_arg(cmd, 0, (0, 1)) == 1 if cmd.args[0] else False
    return []


def _basic_v(port: AtPort, cmd: Command) -> list[str]:
    if cmd.args[0] not in ("", "1"):
        raise CommandError()  # numeric result codes (ATV0) are not emulated
    return []


def _basic_i(port: AtPort, cmd: Command) -> list[str]:
    if cmd.args[0] not in ("", "0"):
        raise CommandError()
    return ["Quectel", port.dialect.model, f"Revision: {port.dialect.revision}"]


def _basic_z(port: AtPort, cmd: Command) -> list[str]:
    port.reset_settings()
    return []


_BASIC_TABLE: dict[str, Callable[[AtPort, Command], list[str]]] = {
    "E": _basic_e, "V": _basic_v, "I": _basic_i, "Z": _basic_z, "&F": _basic_z,
}


def _only(cmd: Command, *modes: str) -> None:
    if cmd.mode not in modes:
        raise CommandError()


def _ident(text: Callable[[AtPort], str]) -> Callable[[AtPort, Command], list[str]]:
    def handler(port: AtPort, cmd: Command) -> list[str]:
        if cmd.mode == "test":
            return []
        _only(cmd, "exec")
        return [text(port)]
    return handler


def _sim_ready(port: AtPort) -> None:
    if not port.radio.state.sim_present:
        raise CommandError(10)


def _cpin(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "read", "test")
    if cmd.mode == "test":
        return []
    _sim_ready(port)
    return ["+CPIN: READY"]


def _cimi(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "exec", "test")
    if cmd.mode == "test":
        return []
    _sim_ready(port)
    return ["001010123456789"]


def _iccid(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "exec")
    _sim_ready(port)
    return ["+ICCID: 89860012345678901234"]


def _cfun(port: AtPort, cmd: Command) -> list[str]:
    radio = port.radio
    if cmd.mode == "read":
        return [f"+CFUN: {radio.state.cfun}"]
    if cmd.mode == "test":
        return ["+CFUN: (0,1,4),(0-1)"]
    _only(cmd, "set")
    fun = _int_arg(cmd, 0, (0, 1, 4))
    rst = _int_arg(cmd, 1, (0, 1)) if len(cmd.args) > 1 else 0
    if rst == 1:
        if fun != 1:
            raise CommandError(3)
        radio.reboot(port.boot_delay)
        return []
    was = radio.state.cfun
    radio.set_cfun(fun)
    if fun == 1 and was == 0:
        for line in ("+CPIN: READY", "+QUSIM: 1", "+QIND: PB DONE", "+QIND: SMS DONE"):
            port.urc(line)
    if fun != 1 and port.cgerep[0] >= 1 and was == 1:
        port.urc("+CGEV: ME DETACH")
    return []


def _cmee(port: AtPort, cmd: Command) -> list[str]:
    if cmd.mode == "read":
        return [f"+CMEE: {port.cmee}"]
    if cmd.mode == "test":
        return ["+CMEE: (0-2)"]
    _only(cmd, "set")
    port.cmee = _int_arg(cmd, 0, (0, 1, 2))
    return []


def _cops(port: AtPort, cmd: Command) -> list[str]:
    radio = port.radio
    if cmd.mode == "test":
        return []
    _only(cmd, "read")
    rat = radio.rat()
    if rat is None:
        return ["+COPS: 0"]
    act = {"SA": 11, "NSA": 13, "LTE": 7}[rat]
    return [f'+COPS: 0,0,"{radio.state.cell.operator}",{act}']


def _registration(name: str) -> Callable[[AtPort, Command], list[str]]:
    def handler(port: AtPort, cmd: Command) -> list[str]:
        if cmd.mode == "test":
            return [f"+{name}: (0-2)"]
        if cmd.mode == "set":
            port.reg_n[name] = _int_arg(cmd, 0, (0, 1, 2))
            return []
        _only(cmd, "read")
        n = port.reg_n[name]
        view = port.radio.reg_views()[name]
        fields = [str(n), *_reg_fields(view, n)]
        if name == "C5GREG" and n >= 2 and view.area is not None:
            fields += ["4", '"01.000000"']
        return [f"+{name}: " + ",".join(fields)]
    return handler


def _csq(port: AtPort, cmd: Command) -> list[str]:
    if cmd.mode == "test":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    _only(cmd, "exec")
    rssi, ber = port._csq()
    return [f"+CSQ: {rssi},{ber}"]


def _ports(kind: str) -> Callable[[AtPort, Command], list[str]]:
    def handler(port: AtPort, cmd: Command) -> list[str]:
        _only(cmd, "exec")
        radio = port.radio
        rat = radio.rat()
        if rat is None:
            raise CommandError()
        s = radio.state
        value, lo = {"+QRSRP": (s.rsrp, -140), "+QRSRQ": (s.rsrq, -20), "+QSINR": (s.sinr, -20)}[kind]
        if rat == "LTE":
            values = [value, max(lo, value - 2), max(lo, value - 4), max(lo, value - 3)]
            sysmode = "LTE"
        else:  # SA (and the NR leg of EN-DC): two receive chains connected, RX2/RX3 invalid
            values = [value, max(lo, value - 3), -32768, -32768]
            sysmode = "NR5G"
        return [f"{kind}: " + ",".join(map(str, values)) + f",{sysmode}"]
    return handler


def _qnwinfo(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "exec")
    radio = port.radio
    rat, cell = radio.rat(), radio.state.cell
    oper = cell.mcc + cell.mnc
    lte = f'+QNWINFO: "{cell.lte_duplex} LTE","{oper}","LTE BAND {cell.lte_band}",{cell.earfcn}'
    nr = f'+QNWINFO: "{cell.duplex} NR5G","{oper}","NR5G BAND {cell.nr_band}",{cell.nr_arfcn}'
    return {None: ["+QNWINFO: No Service"], "LTE": [lte], "SA": [nr], "NSA": [lte, nr]}[rat]


def _qeng(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "set")
    what = unquote(cmd.args[0]).lower()
    if what == "neighbourcell":
        return []
    if what != "servingcell" or len(cmd.args) != 1:
        raise CommandError()
    radio = port.radio
    s, cell = radio.state, radio.state.cell
    camped = radio.camped_rat()
    if camped is None:
        return ['+QENG: "servingcell","SEARCH"']
    if s.limited or not s.sim_present:
        state = "LIMSRV"
    elif not s.attached:
        return ['+QENG: "servingcell","SEARCH"']
    else:
        state = radio.rrc()
    bw = cell.nr_bandwidth if state == "CONNECT" else "-"
    lte_sinr = max(0, min(30, (s.sinr + 20) // 2))
    tx = 230 if state == "CONNECT" else "-"
    lte = (f'"{cell.lte_duplex}",{cell.mcc},{cell.mnc},{cell.lte_cell_id:X},{cell.lte_pci},{cell.earfcn},'
           f"{cell.lte_band},{cell.lte_bandwidth},{cell.lte_bandwidth},{cell.lte_tac:X},{s.rsrp},{s.rsrq},"
           f"{max(-140, min(0, s.rsrp + 25))},{lte_sinr},{9 if state == 'CONNECT' else '-'},{tx},-")
    if camped == "SA":
        return [f'+QENG: "servingcell","{state}","NR5G-SA","{cell.duplex}",{cell.mcc},{cell.mnc},'
                f"{cell.nr_cell_id:X},{cell.nr_pci},{cell.nr_tac:X},{cell.nr_arfcn},{cell.nr_band},{bw},"
                f"{s.rsrp},{s.rsrq},{s.sinr},{cell.scs},-"]
    if camped == "LTE":
        return [f'+QENG: "servingcell","{state}","LTE",{lte}']
    nsa = [cell.mcc, cell.mnc, cell.nr_pci, s.rsrp, s.sinr, s.rsrq, cell.nr_arfcn, cell.nr_band, bw, cell.scs]
    nsa = nsa[:port.dialect.nsa_fields - 1]
    return [f'+QENG: "servingcell","{state}"', f'+QENG: "LTE",{lte}',
            '+QENG: "NR5G-NSA",' + ",".join(map(str, nsa))]


def _cgdcont(port: AtPort, cmd: Command) -> list[str]:
    pdp = port.radio.state.pdp
    if cmd.mode == "test":
        return ['+CGDCONT: (1-15),"IP",,,(0-3),(0-4),(0-1),(0-2),,,,,,,,,"",,,,(0-1)']
    if cmd.mode == "read":
        out = []
        for cid, ctx in sorted(pdp.items()):
            address = ctx.ipv4 or "0.0.0.0"
            line = f'+CGDCONT: {cid},"{ctx.pdp_type}","{ctx.apn}","{address}",0,0'
            line += ',0,0,,,,,,,,,"",,,,0' if port.dialect.long_cgdcont else ",0,0"
            out.append(line)
        return out
    _only(cmd, "set")
    cid = _int_arg(cmd, 0, tuple(range(1, 16)))
    if len(cmd.args) == 1:
        if cid in pdp and pdp[cid].active:
            raise CommandError(3)
        pdp.pop(cid, None)
        return []
    pdp_type = unquote(cmd.args[1]).upper()
    if pdp_type not in ("IP", "IPV6", "IPV4V6"):
        raise CommandError(4)
    apn = unquote(cmd.args[2]) if len(cmd.args) > 2 else ""
    if cid in pdp and pdp[cid].active:
        raise CommandError(3)
    from .radio import Pdp

    pdp[cid] = Pdp(pdp_type, apn)
    return []


def _cgact(port: AtPort, cmd: Command) -> list[str]:
    radio = port.radio
    if cmd.mode == "test":
        return ["+CGACT: (0,1)"]
    if cmd.mode == "read":
        return [f"+CGACT: {cid},{int(ctx.active)}" for cid, ctx in sorted(radio.state.pdp.items())]
    _only(cmd, "set")
    state = _int_arg(cmd, 0, (0, 1))
    cids = [int(a) for a in cmd.args[1:]] if len(cmd.args) > 1 else sorted(radio.state.pdp)
    for cid in cids:
        if cid not in radio.state.pdp:
            raise CommandError(21)
    if state == 1 and radio.rat() is None:
        raise CommandError(30)
    for cid in cids:
        radio.activate(cid, bool(state))
    return []


def _cgpaddr(port: AtPort, cmd: Command) -> list[str]:
    pdp = port.radio.state.pdp
    if cmd.mode == "test":
        return ["+CGPADDR: (" + ",".join(map(str, sorted(pdp))) + ")"]
    _only(cmd, "exec", "set")
    cids = [int(a) for a in cmd.args if a] if cmd.mode == "set" else sorted(pdp)
    out = []
    for cid in cids:
        if cid not in pdp:
            raise CommandError(21)
        addresses = [f'"{a}"' for a in (pdp[cid].ipv4, pdp[cid].ipv6) if a]
        out.append(f"+CGPADDR: {cid}" + "".join("," + a for a in addresses))
    return out


def _cgerep(port: AtPort, cmd: Command) -> list[str]:
    if cmd.mode == "read":
        return [f"+CGEREP: {port.cgerep[0]},{port.cgerep[1]}"]
    if cmd.mode == "test":
        return ["+CGEREP: (0-2),(0-1)"]
    _only(cmd, "set")
    port.cgerep = (_int_arg(cmd, 0, (0, 1, 2)), _int_arg(cmd, 1, (0, 1)) if len(cmd.args) > 1 else 0)
    return []


def _qnwprefcfg(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "set")
    radio, setting = port.radio, unquote(cmd.args[0]).lower()
    if setting == "mode_pref":
        if len(cmd.args) == 1:
            return [f'+QNWPREFCFG: "mode_pref",{":".join(radio.state.mode_pref)}']
        modes = tuple(unquote(cmd.args[1]).upper().split(":"))
        if len(cmd.args) != 2 or not all(m in MODE_NAMES for m in modes):
            raise CommandError()
        radio.change(lambda s: setattr(s, "mode_pref", modes))
        return []
    if setting == "nr5g_disable_mode":
        if len(cmd.args) == 1:
            return [f'+QNWPREFCFG: "nr5g_disable_mode",{radio.state.nr5g_disable_mode}']
        mode = _int_arg(cmd, 1, (0, 1, 2))
        radio.change(lambda s: setattr(s, "nr5g_disable_mode", mode))
        return []
    store = radio.state.bands  # saved to NVM; band locks do not change the emulated cell choice
    if setting in store:
        if len(cmd.args) == 1:
            return [f'+QNWPREFCFG: "{setting}",{store[setting]}']
        value = unquote(cmd.args[1])
        if not re.fullmatch(r"[0-9A-Z]+(:[0-9A-Z]+)*", value.upper()):
            raise CommandError()
        store[setting] = value
        return []
    raise CommandError()


def _qcfg(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "set")
    if unquote(cmd.args[0]).lower() != "usbnet":
        raise CommandError()
    radio = port.radio
    if len(cmd.args) == 1:
        return [f'+QCFG: "usbnet",{radio.state.usbnet}']
    value = _int_arg(cmd, 1, (0, 1, 2, 3))
    radio.state.usbnet = value  # saved to NVM; the network function changes at the next reboot
    return []


def _qindcfg(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "set")
    kind = unquote(cmd.args[0]).lower()
    if kind not in QIND_TYPES:
        raise CommandError()
    if len(cmd.args) == 1:
        if kind == "all":
            return [f'+QINDCFG: "all",{int(all(port.qind.values()))}']
        return [f'+QINDCFG: "{kind}",{port.qind[kind]}']
    enable = _int_arg(cmd, 1, (0, 1))
    if len(cmd.args) > 2:
        _int_arg(cmd, 2, (0, 1))
    for key in (port.qind if kind == "all" else [kind]):
        port.qind[key] = enable
    return []


def _qpowd(port: AtPort, cmd: Command) -> list[str]:
    _only(cmd, "exec", "set")
    if cmd.mode == "set":
        _int_arg(cmd, 0, (0, 1))
    port.radio.power_down()  # POWERED DOWN is held until after this command's OK
    return []


_TABLE: dict[str, Callable[[AtPort, Command], list[str]]] = {
    "+CGMR": _ident(lambda p: p.dialect.revision), "+GMR": _ident(lambda p: p.dialect.revision),
    "+CGMM": _ident(lambda p: p.dialect.model), "+GMM": _ident(lambda p: p.dialect.model),
    "+CGMI": _ident(lambda p: "Quectel"), "+GMI": _ident(lambda p: "Quectel"),
    "+CGSN": _ident(lambda p: "861234567890128"), "+GSN": _ident(lambda p: "861234567890128"),
    "+CIMI": _cimi, "+ICCID": _iccid, "+CPIN": _cpin, "+CFUN": _cfun, "+CMEE": _cmee, "+COPS": _cops,
    "+CREG": _registration("CREG"), "+CEREG": _registration("CEREG"), "+C5GREG": _registration("C5GREG"),
    "+CSQ": _csq, "+QRSRP": _ports("+QRSRP"), "+QRSRQ": _ports("+QRSRQ"), "+QSINR": _ports("+QSINR"),
    "+QNWINFO": _qnwinfo, "+QENG": _qeng, "+CGDCONT": _cgdcont, "+CGACT": _cgact, "+CGPADDR": _cgpaddr,
    "+CGEREP": _cgerep, "+QNWPREFCFG": _qnwprefcfg, "+QCFG": _qcfg, "+QINDCFG": _qindcfg, "+QPOWD": _qpowd,
}
