"""Which devices may write to the ledger: device id → Ed25519 public key, read from a file.

File format (JSON), one entry per enrolled device, keys as standard base64 of 32 bytes::

    {"devices": {"monitor-001": "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=", ...}}

This is the initial set. The authenticated admin API (admin.py) enrols and revokes devices
on top of it, durably in ``DATA/enrolment.db`` (registry.py); the file is never rewritten.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from devices.wire import PublicKey
from devices.wire.envelope import is_device_id

from .errors import LedgerError


class EnrolmentError(LedgerError):
    """The enrolment file cannot be used; the message names the file and the entry."""


def load_enrolment(path: Path) -> dict[str, PublicKey]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EnrolmentError(f"{path}: cannot read the enrolment file: {exc}") from None
    devices = document.get("devices") if isinstance(document, dict) else None
    if not isinstance(devices, dict) or set(document) != {"devices"}:
        raise EnrolmentError(f"{path}: expected an object with one key, \"devices\", mapping device ids to keys")
    enrolled: dict[str, PublicKey] = {}
    for device, encoded in devices.items():
        if not is_device_id(device):
            raise EnrolmentError(f"{path}: device id {device!r} is not a valid envelope device id")
        try:
            raw = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        except binascii.Error:
            raw = b""
        if len(raw) != 32:
            raise EnrolmentError(f"{path}: device {device}: expected the base64 of a 32-byte Ed25519 public key, "
                                 f"got {encoded!r}")
        enrolled[device] = PublicKey(raw)
    return enrolled
