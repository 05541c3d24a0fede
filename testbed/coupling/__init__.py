"""Coupling between an emulated modem's radio and the shaping of the link that goes ``via`` it.

:mod:`.mapping` (pure: radio state -> netem per direction), :mod:`.modem_link` (a background
watcher that applies it to a rig), :mod:`.emulators` (``python -m devices.modem`` per modem
node of an emulated rig, with its pty and control socket under the rig's run directory).
"""

from .emulators import ModemEmulator, ModemEmulators, find_emulator, modem_dir, modem_links, start_emulators
from .mapping import DEFAULT_MAPPING, LINK_DOWN, CouplingMap, RadioView, SinrDegradation
from .modem_link import AppliedChange, ModemLinkCoupler

__all__ = ["DEFAULT_MAPPING", "LINK_DOWN", "AppliedChange", "CouplingMap", "ModemEmulator", "ModemEmulators",
           "ModemLinkCoupler", "RadioView", "SinrDegradation", "find_emulator", "modem_dir", "modem_links",
           "start_emulators"]
