"""A typed driver for Quectel RM500Q/RM520N modems over :class:`AtClient`: what the suites ask a modem.

Each method is one command line (chained with ``;`` where several reads belong together, so one
round trip gives one consistent view) and one parser from :mod:`.parsers`. The driver works the
same against a real module and against ``python -m devices.modem``.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable, Sequence

from .client import AtClient, Response, Subscription, Urc
from .errors import AtTimeout, PortClosed, ResponseInvalid
from .parsers import (
    Csq,
    Identity,
    Operator,
    PdpAddress,
    RegistrationStatus,
    ServingCell,
    Signal,
    parse_ati,
    parse_cops,
    parse_csq,
    parse_pdp_addresses,
    parse_qnwprefcfg,
    parse_registration,
    parse_registration_status,
    parse_serving_cell,
    parse_signal,
)

MODES = ("AUTO", "WCDMA", "LTE", "NR5G")
PDP_TYPES = ("IP", "IPV6", "IPV4V6")


class QuectelModem:
    """Quectel AT dialect on top of an :class:`AtClient`; ``QuectelModem.open(url)`` owns its client."""

    def __init__(self, client: AtClient) -> None:
        self.client = client

    @classmethod
    def open(cls, url: str, *, timeout: float = 5.0) -> QuectelModem:
        return cls(AtClient(url, timeout=timeout))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> QuectelModem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def at(self, command: str, timeout: float | None = None) -> Response:
        return self.client.command(command, timeout)

    def prepare(self) -> None:
        """Echo off, numeric +CME errors, location in registration URCs, PDN event URCs."""
        self.at("ATE0;+CMEE=1;+CREG=2;+CEREG=2;+C5GREG=2;+CGEREP=2,1")

    # reads -------------------------------------------------------------------------------------

    def identity(self) -> Identity:
        return parse_ati(self.at("ATI").lines)

    def serving_cell(self) -> ServingCell:
        return parse_serving_cell(self.at('AT+QENG="servingcell"').lines)

    def signal(self) -> Signal:
        return parse_signal(self.at("AT+QRSRP;+QRSRQ;+QSINR").lines)

    def csq(self) -> Csq:
        return parse_csq(self.at("AT+CSQ").lines)

    def registration(self) -> RegistrationStatus:
        return parse_registration_status(self.at("AT+CREG?;+CEREG?;+C5GREG?").lines)

    def operator(self) -> Operator:
        return parse_cops(self.at("AT+COPS?").lines)

    def pdp_address(self, cid: int = 1) -> PdpAddress:
        found = [a for a in parse_pdp_addresses(self.at(f"AT+CGPADDR={cid}").lines) if a.cid == cid]
        if len(found) != 1:
            raise ResponseInvalid(f"AT+CGPADDR={cid}: expected one +CGPADDR: {cid} line, got {len(found)}")
        return found[0]

    def mode_pref(self) -> tuple[str, ...]:
        return tuple(parse_qnwprefcfg(self.at('AT+QNWPREFCFG="mode_pref"').lines, "mode_pref").split(":"))

    # writes ------------------------------------------------------------------------------------

    def set_mode_pref(self, modes: str | Sequence[str]) -> None:
        """``AUTO``, ``LTE``, ``NR5G`` or a list such as ``("LTE", "NR5G")``; immediate on the module."""
        names = modes.split(":") if isinstance(modes, str) else list(modes)
        bad = [m for m in names if m not in MODES]
        if not names or bad:
            raise ValueError(f"mode_pref: expected names from {', '.join(MODES)}, got {modes!r}")
        self.at(f'AT+QNWPREFCFG="mode_pref",{":".join(names)}')

    def set_nr5g_disable_mode(self, mode: int) -> None:
        """0 = SA and NSA allowed, 1 = SA disabled, 2 = NSA disabled."""
        if mode not in (0, 1, 2):
            raise ValueError(f"nr5g_disable_mode: expected 0, 1 or 2, got {mode!r}")
        self.at(f'AT+QNWPREFCFG="nr5g_disable_mode",{mode}')

    def define_pdp(self, cid: int, pdp_type: str, apn: str) -> None:
        if pdp_type not in PDP_TYPES or '"' in apn:
            raise ValueError(f"PDP context: expected a type from {PDP_TYPES} and an APN without quotes, "
                             f"got {pdp_type!r}, {apn!r}")
        self.at(f'AT+CGDCONT={cid},"{pdp_type}","{apn}"')

    def activate_pdp(self, cid: int = 1, active: bool = True) -> None:
        self.at(f"AT+CGACT={int(active)},{cid}")

    def detach(self) -> None:
        """RF off (``AT+CFUN=4``): the module deregisters and its PDP contexts go down."""
        self.at("AT+CFUN=4")

    def attach(self, timeout: float = 30.0) -> RegistrationStatus:
        """RF on (``AT+CFUN=1``) and wait until registered on any RAT; AtTimeout if it does not happen."""
        with self.subscribe(*("+CREG", "+CEREG", "+C5GREG")) as sub:
            self.at("AT+CFUN=1")
            deadline = time.monotonic() + timeout
            while True:
                status = self.registration()
                if status.registered:
                    return status
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AtTimeout("AT+CFUN=1 (waiting for registration)", timeout, ())
                try:  # wake on a registration URC, or poll again after a second without one
                    sub.get(timeout=min(left, 1.0), match=lambda u: parse_registration(u.line).registered)
                except (queue.Empty, ResponseInvalid):
                    pass

    def reboot(self, timeout: float = 60.0) -> None:
        """``AT+CFUN=1,1`` and wait for ``RDY``.

        On a USB module the AT port disappears and comes back: the client is reopened on the same
        URL (a ``/dev/serial/by-id`` link survives re-enumeration) until ``AT`` answers ``OK``.
        """
        deadline = time.monotonic() + timeout
        with self.subscribe("RDY") as sub:
            try:
                self.at("AT+CFUN=1,1")
                sub.get(timeout=timeout)
                return
            except (PortClosed, queue.Empty):
                pass
        url, limit = self.client.url, self.client.timeout
        self.client.close()
        while True:
            try:
                self.client = AtClient(url, timeout=limit)
                self.at("AT", timeout=1.0)
                return
            except (PortClosed, AtTimeout):
                if time.monotonic() > deadline:
                    raise AtTimeout("AT+CFUN=1,1 (waiting for the port to return)", timeout, ()) from None
                with contextlib.suppress(Exception):
                    self.client.close()
                time.sleep(0.5)

    def subscribe(self, *prefixes: str, callback: Callable[[Urc], None] | None = None) -> Subscription:
        return self.client.subscribe(*prefixes, callback=callback)
