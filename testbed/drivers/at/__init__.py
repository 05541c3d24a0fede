"""AT commands to 5G modems: response parsers, a line client over pyserial URLs, the Quectel driver.

    from testbed.drivers.at import QuectelModem
    with QuectelModem.open("rfc2217://pi-3:3333") as modem:   # or /dev/serial/by-id/…-if02-port0
        cell = modem.serving_cell()

Layers, each usable alone: :mod:`.parsers` (pure functions over response lines, no I/O),
:mod:`.client` (line discipline, echo, URC routing, timeouts), :mod:`.quectel` (typed commands).
"""

from .client import AtClient, Response, Subscription, Urc
from .errors import AtError, AtTimeout, CommandFailed, PortClosed, ResponseInvalid
from .parsers import (
    Csq,
    Identity,
    LteCell,
    NetworkInfo,
    NrCell,
    Operator,
    PdpAddress,
    PdpContext,
    PortReadings,
    Rat,
    Registration,
    RegistrationStatus,
    RegStat,
    ServingCell,
    Signal,
)
from .quectel import QuectelModem

__all__ = [
    "AtClient", "AtError", "AtTimeout", "CommandFailed", "Csq", "Identity", "LteCell", "NetworkInfo", "NrCell",
    "Operator", "PdpAddress", "PdpContext", "PortClosed", "PortReadings", "QuectelModem", "Rat", "RegStat",
    "Registration", "RegistrationStatus", "Response", "ResponseInvalid", "ServingCell", "Signal", "Subscription",
    "Urc",
]
