"""testbed: hardware-in-the-loop testbed for 5G + edge + ledger smart-healthcare networks (controller side)."""

__version__ = "0.1.0"
