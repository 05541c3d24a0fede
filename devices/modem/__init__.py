"""An emulated Quectel RM520N/RM500Q 5G modem: the same AT bytes as the module, over a pty or RFC 2217.

    python -m devices.modem --link /tmp/modem0/at --control /tmp/modem0/control

Layers: :mod:`.radio` (cell, RAT, levels, registration, PDP; scenario steps), :mod:`.firmware`
(line discipline, command table, URC formatting for one AT port), :mod:`.transport` (pty, RFC 2217),
:mod:`.control` (the JSON-lines control socket), :mod:`.emulator` (all of it for one module).
"""

from .control import ControlClient, ControlError
from .emulator import Emulator
from .firmware import DIALECTS, AtPort, Dialect
from .radio import DEFAULT_CELLS, Cell, Radio

__all__ = ["DEFAULT_CELLS", "DIALECTS", "AtPort", "Cell", "ControlClient", "ControlError", "Dialect", "Emulator",
           "Radio"]
