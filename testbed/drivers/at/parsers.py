"""Parsers for Quectel RM500Q/RM520N AT responses: pure functions from response lines to frozen records.

Every parser takes the information lines of one response (no echo, no final ``OK``) and returns a
typed record or raises :class:`ResponseInvalid` naming the command, the field and the value.

Tolerance rules, from docs/reference/modem-at.md and firmware drift seen in the field:

- optional whitespace after the ``+XXX:`` prefix (the manual's own NSA example has none);
- ``-`` or ``"-"`` in any field means "invalid under the current condition" and becomes ``None``;
- known "not available" sentinels (``-32768``, ``32767``, the truncated ``-3276`` seen in LIMSRV
  captures, and ``255`` for LTE's coded SINR) become ``None``;
- any other value outside the field's documented range is an error, never silently clamped:
  a mis-parse (a field shifted by a firmware variant) should fail loudly, not become a number;
- field-count variants: NR5G-SA 16 or 17 fields, NR5G-NSA 9 to 11, LTE 18 (+ prefix).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum

from .errors import ResponseInvalid

SENTINELS = frozenset({-32768, 32767, -3276})
"""Values firmware prints for "no measurement" in signed fields; they become None."""

NR_DL_BANDWIDTH_MHZ = (5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 400, 35, 45)
SCS_KHZ = (15, 30, 60, 120, 240)
LTE_BANDWIDTH_MHZ = (1.4, 3.0, 5.0, 10.0, 15.0, 20.0)

RSRP_RANGE = (-140, -44)
RSRQ_RANGE = (-20, -3)
NR_SINR_RANGE = (-23, 40)
LTE_SINR_CODED_RANGE = (0, 30)  # dB = 2X - 20, so -20 .. 40 dB

_PREFIX = re.compile(r"^(\+[A-Z0-9]+):\s*(.*)$")


class Rat(Enum):
    """The radio access technology the modem is on; NONE when it is searching or has no service."""

    NONE = "none"
    LTE = "LTE"
    NSA = "EN-DC"
    SA = "NR5G-SA"


class RegStat(IntEnum):
    """``<stat>`` of +CREG/+CEREG/+C5GREG (27.007 §7.2, plus 8 = emergency only in +C5GREG)."""

    NOT_REGISTERED = 0
    HOME = 1
    SEARCHING = 2
    DENIED = 3
    UNKNOWN = 4
    ROAMING = 5
    EMERGENCY_ONLY = 8


# fields ----------------------------------------------------------------------------------------


def split_fields(body: str) -> list[str]:
    """Split a response body on commas outside double quotes; fields keep their quotes."""
    fields: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in body:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if quoted:
        raise ResponseInvalid(f"unterminated quoted field in {body!r}")
    fields.append("".join(current).strip())
    return fields


def unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1]
    return field


def is_quoted(field: str) -> bool:
    return len(field) >= 2 and field[0] == field[-1] == '"'


def body_of(line: str, prefix: str, command: str) -> str:
    """The text after ``prefix:`` (``+QENG`` say), whitespace after the colon optional."""
    match = _PREFIX.match(line.strip())
    if not match or match.group(1) != prefix:
        raise ResponseInvalid(f"{command}: expected a line starting {prefix}:, got {line!r}")
    return match.group(2)


class _Fields:
    """Typed access to the fields of one line, with errors that name the command, field and value."""

    def __init__(self, command: str, line: str, fields: Sequence[str], names: Sequence[str]) -> None:
        self.command, self.line, self.fields, self.names = command, line, list(fields), list(names)

    def _raw(self, name: str) -> str | None:
        index = self.names.index(name)
        if index >= len(self.fields):
            return None
        value = unquote(self.fields[index]).strip()
        return None if value in ("-", "") else value

    def fail(self, name: str, expected: str, value: object) -> ResponseInvalid:
        return ResponseInvalid(f"{self.command}: field <{name}>: expected {expected}, got {value!r} in {self.line!r}")

    def text(self, name: str) -> str | None:
        return self._raw(name)

    def integer(self, name: str, lo: int, hi: int, sentinels: frozenset[int] = SENTINELS) -> int | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            value = int(raw, 10)
        except ValueError:
            raise self.fail(name, f"an integer in {lo}..{hi}", raw) from None
        if value in sentinels:
            return None
        if not lo <= value <= hi:
            raise self.fail(name, f"an integer in {lo}..{hi}", value)
        return value

    def hexint(self, name: str, bits: int) -> int | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            value = int(raw, 16)
        except ValueError:
            raise self.fail(name, f"a hexadecimal number of at most {bits} bits", raw) from None
        if value >= 1 << bits:
            raise self.fail(name, f"a hexadecimal number of at most {bits} bits", raw)
        return value

    def digits(self, name: str, lengths: tuple[int, ...]) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return None
        if not raw.isdigit() or len(raw) not in lengths:
            raise self.fail(name, f"{' or '.join(map(str, lengths))} decimal digits", raw)
        return raw

    def enum(self, name: str, table: Sequence[float]) -> float | None:
        raw = self._raw(name)
        if raw is None:
            return None
        if not raw.isdigit() or int(raw) >= len(table):
            raise self.fail(name, f"an index 0..{len(table) - 1}", raw)
        return table[int(raw)]

    def choice(self, name: str, options: tuple[str, ...]) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return None
        if raw not in options:
            raise self.fail(name, " or ".join(options), raw)
        return raw


# +QENG="servingcell" ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NrCell:
    """The NR leg: full for SA; for NSA only what the NR5G-NSA line carries (the rest is None)."""

    mcc: str | None
    mnc: str | None
    pci: int | None
    arfcn: int | None
    band: int | None
    rsrp: int | None
    rsrq: int | None
    sinr: int | None
    dl_bandwidth_mhz: float | None = None
    scs_khz: float | None = None
    duplex: str | None = None
    cell_id: int | None = None
    tac: int | None = None
    srxlev: int | None = None


@dataclass(frozen=True)
class LteCell:
    """The LTE line; ``sinr`` is already decoded from Quectel's coding (dB = 2X - 20)."""

    duplex: str | None
    mcc: str | None
    mnc: str | None
    cell_id: int | None
    pci: int | None
    earfcn: int | None
    band: int | None
    ul_bandwidth_mhz: float | None
    dl_bandwidth_mhz: float | None
    tac: int | None
    rsrp: int | None
    rsrq: int | None
    rssi: int | None
    sinr: int | None
    cqi: int | None
    tx_power_dbm: float | None
    srxlev: int | None


@dataclass(frozen=True)
class ServingCell:
    """One ``AT+QENG="servingcell"`` answer in any of its four layouts.

    ``rat`` says which legs are present: SA → ``nr``; LTE → ``lte``; NSA → both; NONE (SEARCH) →
    neither. ``state`` is SEARCH, LIMSRV, NOCONN or CONNECT.
    """

    state: str
    rat: Rat
    nr: NrCell | None = None
    lte: LteCell | None = None

    @property
    def registered(self) -> bool:
        return self.state in ("NOCONN", "CONNECT")


STATES = ("SEARCH", "LIMSRV", "NOCONN", "CONNECT")

_SA_NAMES = ("servingcell", "state", "rat", "duplex", "MCC", "MNC", "cellID", "PCID", "TAC", "ARFCN", "band",
             "NR_DL_bandwidth", "RSRP", "RSRQ", "SINR", "scs", "srxlev")
_LTE_NAMES = ("is_tdd", "MCC", "MNC", "cellID", "PCID", "earfcn", "freq_band_ind", "UL_bandwidth", "DL_bandwidth",
              "TAC", "RSRP", "RSRQ", "RSSI", "SINR", "CQI", "tx_power", "srxlev")
_NSA_NAMES = ("rat", "MCC", "MNC", "PCID", "RSRP", "SINR", "RSRQ", "ARFCN", "band", "NR_DL_bandwidth", "scs")
_QENG = 'AT+QENG="servingcell"'


def parse_serving_cell(lines: Sequence[str]) -> ServingCell:
    """Parse the SEARCH, NR5G-SA, EN-DC (three lines) or LTE layout, LIMSRV included."""
    rows = [split_fields(body_of(line, "+QENG", _QENG)) for line in lines if line.strip()]
    if not rows:
        raise ResponseInvalid(f"{_QENG}: expected at least one +QENG line, got none")
    first = rows[0]
    if unquote(first[0]) != "servingcell" or len(first) < 2:
        raise ResponseInvalid(f'{_QENG}: expected the first line to start "servingcell",<state>, got {lines[0]!r}')
    state = unquote(first[1])
    if state not in STATES:
        raise ResponseInvalid(f"{_QENG}: field <state>: expected {' | '.join(STATES)}, got {state!r}")
    if state == "SEARCH":
        return ServingCell(state, Rat.NONE)
    if len(first) == 2:  # EN-DC: state line, then LTE and NR5G-NSA lines without the prefix
        if len(rows) != 3:
            raise ResponseInvalid(f"{_QENG}: expected 3 lines for EN-DC, got {len(rows)}: {list(lines)!r}")
        lte_row, nr_row = rows[1], rows[2]
        if unquote(lte_row[0]) != "LTE" or unquote(nr_row[0]) != "NR5G-NSA":
            raise ResponseInvalid(f'{_QENG}: expected EN-DC lines "LTE" then "NR5G-NSA", got {list(lines[1:])!r}')
        return ServingCell(state, Rat.NSA, nr=_nsa_leg(nr_row, lines[2]),
                           lte=_lte_leg(lte_row[1:], lines[1]))
    if len(rows) != 1:
        raise ResponseInvalid(f"{_QENG}: expected one line for state {state} with a RAT, got {len(rows)}")
    rat = unquote(first[2])
    if rat == "NR5G-SA":
        return ServingCell(state, Rat.SA, nr=_sa_leg(first, lines[0]))
    if rat == "LTE":
        return ServingCell(state, Rat.LTE, lte=_lte_leg(first[3:], lines[0]))
    raise ResponseInvalid(f'{_QENG}: field <rat>: expected "NR5G-SA" or "LTE", got {rat!r}')


def _sa_leg(fields: list[str], line: str) -> NrCell:
    if len(fields) not in (16, 17):
        raise ResponseInvalid(f"{_QENG}: expected 16 or 17 fields in an NR5G-SA line, got {len(fields)}: {line!r}")
    f = _Fields(_QENG, line, fields, _SA_NAMES)
    return NrCell(
        duplex=f.choice("duplex", ("TDD", "FDD")),
        mcc=f.digits("MCC", (3,)), mnc=f.digits("MNC", (2, 3)),
        cell_id=f.hexint("cellID", 36), pci=f.integer("PCID", 0, 1007), tac=f.hexint("TAC", 24),
        arfcn=f.integer("ARFCN", 0, 3279165), band=f.integer("band", 1, 512),
        dl_bandwidth_mhz=f.enum("NR_DL_bandwidth", NR_DL_BANDWIDTH_MHZ),
        rsrp=f.integer("RSRP", *RSRP_RANGE), rsrq=f.integer("RSRQ", *RSRQ_RANGE),
        sinr=f.integer("SINR", *NR_SINR_RANGE),
        scs_khz=f.enum("scs", SCS_KHZ), srxlev=f.integer("srxlev", -200, 200),
    )


def _nsa_leg(fields: list[str], line: str) -> NrCell:
    if not 9 <= len(fields) <= 11:
        raise ResponseInvalid(f"{_QENG}: expected 9 to 11 fields in an NR5G-NSA line, got {len(fields)}: {line!r}")
    f = _Fields(_QENG, line, fields, _NSA_NAMES)
    return NrCell(
        mcc=f.digits("MCC", (3,)), mnc=f.digits("MNC", (2, 3)), pci=f.integer("PCID", 0, 1007),
        rsrp=f.integer("RSRP", *RSRP_RANGE), sinr=f.integer("SINR", *NR_SINR_RANGE),
        rsrq=f.integer("RSRQ", *RSRQ_RANGE), arfcn=f.integer("ARFCN", 0, 3279165), band=f.integer("band", 1, 512),
        dl_bandwidth_mhz=f.enum("NR_DL_bandwidth", NR_DL_BANDWIDTH_MHZ), scs_khz=f.enum("scs", SCS_KHZ),
    )


def _lte_leg(fields: list[str], line: str) -> LteCell:
    if len(fields) != len(_LTE_NAMES):
        raise ResponseInvalid(f"{_QENG}: expected {len(_LTE_NAMES)} LTE fields, got {len(fields)}: {line!r}")
    f = _Fields(_QENG, line, fields, _LTE_NAMES)
    coded = f.integer("SINR", *LTE_SINR_CODED_RANGE, sentinels=SENTINELS | {255})
    tx = f.integer("tx_power", -1000, 400)
    return LteCell(
        duplex=f.choice("is_tdd", ("TDD", "FDD")),
        mcc=f.digits("MCC", (3,)), mnc=f.digits("MNC", (2, 3)),
        cell_id=f.hexint("cellID", 28), pci=f.integer("PCID", 0, 503), earfcn=f.integer("earfcn", 0, 262143),
        band=f.integer("freq_band_ind", 1, 256),
        ul_bandwidth_mhz=f.enum("UL_bandwidth", LTE_BANDWIDTH_MHZ),
        dl_bandwidth_mhz=f.enum("DL_bandwidth", LTE_BANDWIDTH_MHZ),
        tac=f.hexint("TAC", 16), rsrp=f.integer("RSRP", *RSRP_RANGE), rsrq=f.integer("RSRQ", *RSRQ_RANGE),
        rssi=f.integer("RSSI", -140, 0), sinr=None if coded is None else 2 * coded - 20,
        cqi=f.integer("CQI", 0, 30), tx_power_dbm=None if tx is None else tx / 10,
        srxlev=f.integer("srxlev", -200, 200),
    )


# +QRSRP / +QRSRQ / +QSINR ----------------------------------------------------------------------


@dataclass(frozen=True)
class PortReadings:
    """Per-antenna-port values (PRX, DRX, RX2, RX3) of one of +QRSRP/+QRSRQ/+QSINR; None = invalid."""

    ports: tuple[int | None, int | None, int | None, int | None]
    sysmode: str

    @property
    def best(self) -> int | None:
        valid = [v for v in self.ports if v is not None]
        return max(valid) if valid else None


_PORT_RANGES = {"+QRSRP": RSRP_RANGE, "+QRSRQ": RSRQ_RANGE, "+QSINR": NR_SINR_RANGE}


def parse_port_readings(lines: Sequence[str], prefix: str) -> PortReadings:
    """``+QRSRP: <PRX>,<DRX>,<RX2>,<RX3>,<sysmode>`` (and the +QRSRQ, +QSINR twins)."""
    command = f"AT{prefix}"
    matching = [line for line in lines if line.lstrip().startswith(prefix + ":")]
    if len(matching) != 1:
        raise ResponseInvalid(f"{command}: expected one {prefix}: line, got {len(matching)} in {list(lines)!r}")
    fields = split_fields(body_of(matching[0], prefix, command))
    if len(fields) != 5:
        raise ResponseInvalid(f"{command}: expected 5 fields, got {len(fields)}: {matching[0]!r}")
    f = _Fields(command, matching[0], fields, ("PRX", "DRX", "RX2", "RX3", "sysmode"))
    lo, hi = _PORT_RANGES[prefix]
    ports = tuple(f.integer(name, lo, hi) for name in ("PRX", "DRX", "RX2", "RX3"))
    return PortReadings(ports, f.text("sysmode") or "")  # type: ignore[arg-type]


@dataclass(frozen=True)
class Signal:
    """RSRP (dBm), RSRQ (dB) and SINR (dB) per antenna port, from one chained QRSRP/QRSRQ/QSINR."""

    rsrp: PortReadings
    rsrq: PortReadings
    sinr: PortReadings

    @property
    def sysmode(self) -> str:
        return self.rsrp.sysmode


def parse_signal(lines: Sequence[str]) -> Signal:
    return Signal(parse_port_readings(lines, "+QRSRP"), parse_port_readings(lines, "+QRSRQ"),
                  parse_port_readings(lines, "+QSINR"))


# +CSQ ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Csq:
    """``+CSQ``: RSSI in dBm and bit error rate class; None for 99 (unknown; always so on 5G SA)."""

    rssi_dbm: int | None
    ber: int | None


def parse_csq(lines: Sequence[str]) -> Csq:
    line = _one(lines, "+CSQ", "AT+CSQ")
    fields = split_fields(body_of(line, "+CSQ", "AT+CSQ"))
    if len(fields) != 2:
        raise ResponseInvalid(f"AT+CSQ: expected 2 fields <rssi>,<ber>, got {len(fields)}: {line!r}")
    f = _Fields("AT+CSQ", line, fields, ("rssi", "ber"))
    rssi = f.integer("rssi", 0, 99, sentinels=frozenset({99}))
    if rssi is not None and rssi > 31:
        raise f.fail("rssi", "0..31 or 99", rssi)
    ber = f.integer("ber", 0, 99, sentinels=frozenset({99}))
    if ber is not None and ber > 7:
        raise f.fail("ber", "0..7 or 99", ber)
    return Csq(None if rssi is None else -113 + 2 * rssi, ber)


# registration ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """One of +CREG/+CEREG/+C5GREG, solicited (``n`` set) or unsolicited (``n`` is None).

    ``area`` is the LAC or TAC, ``cell_id`` the cell identity, both as integers from hex.
    """

    kind: str
    stat: RegStat
    n: int | None = None
    area: int | None = None
    cell_id: int | None = None
    act: int | None = None
    allowed_nssai: str | None = None

    @property
    def registered(self) -> bool:
        return self.stat in (RegStat.HOME, RegStat.ROAMING)


REGISTRATION_PREFIXES = ("+CREG", "+CEREG", "+C5GREG")


def registration_is_urc(line: str) -> bool:
    """Whether a +CREG/+CEREG/+C5GREG line is the unsolicited shape.

    The solicited answer starts ``<n>,<stat>`` (two bare integers); the URC starts ``<stat>`` and is
    either alone or followed by a quoted area code. That tells them apart without context.
    """
    match = _PREFIX.match(line.strip())
    if not match:
        return False
    fields = split_fields(match.group(2))
    return len(fields) == 1 or is_quoted(fields[1])


def parse_registration(line: str) -> Registration:
    """Parse either shape of a registration line (see :func:`registration_is_urc`)."""
    match = _PREFIX.match(line.strip())
    if not match or match.group(1) not in REGISTRATION_PREFIXES:
        raise ResponseInvalid(f"registration: expected +CREG:, +CEREG: or +C5GREG:, got {line!r}")
    kind = match.group(1)
    command = f"AT{kind}?"
    fields = split_fields(match.group(2))
    urc = registration_is_urc(line)
    names = ["stat", "area", "ci", "AcT", "nssai_len", "nssai"]
    if not urc:
        names.insert(0, "n")
    if len(fields) > len(names):
        raise ResponseInvalid(f"{command}: expected at most {len(names)} fields, got {len(fields)}: {line!r}")
    f = _Fields(command, line, fields, names)
    stat = f.integer("stat", 0, 8, sentinels=frozenset())
    if stat is None or stat not in RegStat._value2member_map_ or (stat == 8 and kind != "+C5GREG"):
        raise f.fail("stat", "0..5 (or 8 in +C5GREG)", stat)
    return Registration(
        kind=kind[1:], stat=RegStat(stat),
        n=None if urc else f.integer("n", 0, 5, sentinels=frozenset()),
        area=f.hexint("area", 24 if kind == "+C5GREG" else 16),
        cell_id=f.hexint("ci", 36 if kind == "+C5GREG" else 28),
        act=f.integer("AcT", 0, 13, sentinels=frozenset()),
        allowed_nssai=f.text("nssai"),
    )


@dataclass(frozen=True)
class RegistrationStatus:
    """The three registration views at once; ``registered`` when any of them is HOME or ROAMING."""

    creg: Registration | None
    cereg: Registration | None
    c5greg: Registration | None

    @property
    def registered(self) -> bool:
        return any(r is not None and r.registered for r in (self.creg, self.cereg, self.c5greg))


def parse_registration_status(lines: Sequence[str]) -> RegistrationStatus:
    found: dict[str, Registration] = {}
    for line in lines:
        reg = parse_registration(line)
        found[reg.kind] = reg
    return RegistrationStatus(found.get("CREG"), found.get("CEREG"), found.get("C5GREG"))


# +COPS, +QNWINFO -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """``+COPS?``: mode, and when registered the operator and AcT (11 = SA, 13 = EN-DC, 7 = LTE)."""

    mode: int
    format: int | None = None
    name: str | None = None
    act: int | None = None


def parse_cops(lines: Sequence[str]) -> Operator:
    line = _one(lines, "+COPS", "AT+COPS?")
    fields = split_fields(body_of(line, "+COPS", "AT+COPS?"))
    if len(fields) > 4:
        raise ResponseInvalid(f"AT+COPS?: expected 1 to 4 fields, got {len(fields)}: {line!r}")
    f = _Fields("AT+COPS?", line, fields, ("mode", "format", "oper", "AcT"))
    mode = f.integer("mode", 0, 4, sentinels=frozenset())
    if mode is None:
        raise f.fail("mode", "0..4", None)
    return Operator(mode, f.integer("format", 0, 2, sentinels=frozenset()), f.text("oper"),
                    f.integer("AcT", 0, 13, sentinels=frozenset()))


@dataclass(frozen=True)
class NetworkInfo:
    """One ``+QNWINFO`` line: ``"TDD NR5G","99970","NR5G BAND 78",641280``."""

    act: str
    operator: str
    band: str
    channel: int | None


def parse_qnwinfo(lines: Sequence[str]) -> tuple[NetworkInfo, ...]:
    """All +QNWINFO lines (NSA prints an LTE and a 5G line); empty for ``No Service``."""
    out = []
    for line in lines:
        body = body_of(line, "+QNWINFO", "AT+QNWINFO").strip()
        if body == "No Service":
            continue
        fields = split_fields(body)
        if len(fields) != 4:
            raise ResponseInvalid(f"AT+QNWINFO: expected 4 fields or No Service, got {len(fields)}: {line!r}")
        f = _Fields("AT+QNWINFO", line, fields, ("AcT", "oper", "band", "channel"))
        out.append(NetworkInfo(f.text("AcT") or "", f.text("oper") or "", f.text("band") or "",
                               f.integer("channel", 0, 3279165, sentinels=frozenset())))
    return tuple(out)


# PDP -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdpAddress:
    """``+CGPADDR: <cid>[,<addr1>[,<addr2>]]``; None where no address is assigned (``""``/0.0.0.0)."""

    cid: int
    ipv4: ipaddress.IPv4Address | None = None
    ipv6: ipaddress.IPv6Address | None = None


def _address(f: _Fields, name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    raw = f.text(name)
    if raw is None:
        return None
    parts = raw.split(".")
    try:
        if len(parts) == 16:  # 27.007 dotted-decimal IPv6: 16 octets
            octets = bytes(int(p) for p in parts)
            addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(octets)
        else:
            addr = ipaddress.ip_address(raw)
    except ValueError:
        raise f.fail(name, "an IPv4 or IPv6 address", raw) from None
    return None if addr.is_unspecified else addr


def parse_pdp_addresses(lines: Sequence[str]) -> tuple[PdpAddress, ...]:
    out = []
    for line in lines:
        fields = split_fields(body_of(line, "+CGPADDR", "AT+CGPADDR"))
        if not 1 <= len(fields) <= 3:
            raise ResponseInvalid(f"AT+CGPADDR: expected 1 to 3 fields, got {len(fields)}: {line!r}")
        f = _Fields("AT+CGPADDR", line, fields, ("cid", "addr1", "addr2"))
        cid = f.integer("cid", 0, 255, sentinels=frozenset())
        if cid is None:
            raise f.fail("cid", "0..255", None)
        v4 = v6 = None
        for name in ("addr1", "addr2"):
            addr = _address(f, name)
            if isinstance(addr, ipaddress.IPv4Address):
                v4 = addr
            elif isinstance(addr, ipaddress.IPv6Address):
                v6 = addr
        out.append(PdpAddress(cid, v4, v6))
    return tuple(out)


@dataclass(frozen=True)
class PdpContext:
    """The leading fields of one ``+CGDCONT?`` line (the 5G tail is kept raw in ``extra``)."""

    cid: int
    pdp_type: str
    apn: str
    address: str | None
    extra: tuple[str, ...] = ()


def parse_pdp_contexts(lines: Sequence[str]) -> tuple[PdpContext, ...]:
    out = []
    for line in lines:
        fields = split_fields(body_of(line, "+CGDCONT", "AT+CGDCONT?"))
        if len(fields) < 4:
            raise ResponseInvalid(f"AT+CGDCONT?: expected at least 4 fields, got {len(fields)}: {line!r}")
        f = _Fields("AT+CGDCONT?", line, fields, ("cid", "type", "apn", "addr"))
        cid = f.integer("cid", 0, 255, sentinels=frozenset())
        pdp_type = f.choice("type", ("IP", "IPV6", "IPV4V6", "PPP", "Non-IP", "Ethernet"))
        if cid is None or pdp_type is None:
            raise f.fail("cid" if cid is None else "type", "a value", None)
        out.append(PdpContext(cid, pdp_type, unquote(fields[2]), f.text("addr"), tuple(fields[4:])))
    return tuple(out)


def parse_cgact(lines: Sequence[str]) -> dict[int, bool]:
    """``+CGACT: <cid>,<state>`` per line → {cid: active}."""
    out = {}
    for line in lines:
        fields = split_fields(body_of(line, "+CGACT", "AT+CGACT?"))
        if len(fields) != 2:
            raise ResponseInvalid(f"AT+CGACT?: expected 2 fields <cid>,<state>, got {len(fields)}: {line!r}")
        f = _Fields("AT+CGACT?", line, fields, ("cid", "state"))
        cid, state = f.integer("cid", 0, 255, frozenset()), f.integer("state", 0, 1, frozenset())
        if cid is None or state is None:
            raise f.fail("cid" if cid is None else "state", "an integer", None)
        out[cid] = bool(state)
    return out


# identity, configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """``ATI``: manufacturer, model (object ID) and firmware revision."""

    manufacturer: str
    model: str
    revision: str


def parse_ati(lines: Sequence[str]) -> Identity:
    rows = [line.strip() for line in lines if line.strip()]
    if len(rows) != 3 or not rows[2].startswith("Revision:"):
        raise ResponseInvalid(f"ATI: expected <manufacturer>, <model>, Revision: <revision>, got {rows!r}")
    return Identity(rows[0], rows[1], rows[2].partition(":")[2].strip())


def parse_qnwprefcfg(lines: Sequence[str], setting: str) -> str:
    """``+QNWPREFCFG: "<setting>",<value>`` → the value text (unquoted)."""
    command = f'AT+QNWPREFCFG="{setting}"'
    line = _one(lines, "+QNWPREFCFG", command)
    fields = split_fields(body_of(line, "+QNWPREFCFG", command))
    if len(fields) != 2 or unquote(fields[0]) != setting:
        raise ResponseInvalid(f'{command}: expected "{setting}",<value>, got {line!r}')
    return unquote(fields[1])


def parse_cme(final: str) -> int | str | None:
    """The code (or verbose text) of ``+CME ERROR: <err>``; None for a plain ``ERROR``."""
    kind, _, detail = final.partition(":")
    detail = detail.strip()
    if kind not in ("+CME ERROR", "+CMS ERROR"):
        return None
    return int(detail) if detail.isdigit() else detail


def _one(lines: Sequence[str], prefix: str, command: str) -> str:
    matching = [line for line in lines if line.lstrip().startswith(prefix + ":")]
    if len(matching) != 1:
        raise ResponseInvalid(f"{command}: expected one {prefix}: line, got {len(matching)} in {list(lines)!r}")
    return matching[0]
