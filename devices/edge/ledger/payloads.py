"""The off-chain payload store: encrypted record payloads as files named by their SHA-256.

The chain holds only ``payload_hash`` (in each record envelope); the bytes live here, one file
per distinct payload, so a payload is stored once however many records name it and a reader
can check what it got against the name it asked for. Layout under the data directory::

    payloads/ab/ab12…ef        the payload whose lowercase hex SHA-256 is ab12…ef (64 digits)
    payloads/tmp/              files being written; anything left here after a crash is garbage

A put writes to ``tmp``, fsyncs the file, renames it into place (atomic on POSIX) and fsyncs
the directory, so after a put returns the payload survives a crash and a reader never sees a
partial file. Putting the same bytes again finds the file and changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from .errors import LedgerError

MAX_PAYLOAD = 16 * 1024 * 1024
_HEX = re.compile(r"[0-9a-f]{64}")


class PayloadHashMismatch(LedgerError):
    """The body's SHA-256 is not the hash it was put under."""


class PayloadTooLarge(LedgerError):
    """The body is over the store's size limit."""


def is_payload_name(value: str) -> bool:
    """Whether ``value`` is a payload name: 64 lowercase hex digits."""
    return bool(_HEX.fullmatch(value))


class PayloadStore:
    """Content-addressed files under ``root``; safe for concurrent puts of the same payload."""

    def __init__(self, root: Path, max_size: int = MAX_PAYLOAD) -> None:
        self.root = root
        self.max_size = max_size
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        if not is_payload_name(name):
            raise ValueError(f"payload name: expected 64 lowercase hex digits, got {name!r}")
        return self.root / name[:2] / name

    def put(self, name: str, body: bytes) -> bool:
        """Store ``body`` under ``name`` (its hex SHA-256); True when it was new, False when already held."""
        target = self.path(name)
        if len(body) > self.max_size:
            raise PayloadTooLarge(f"payload: expected at most {self.max_size} bytes, got {len(body)}")
        digest = hashlib.sha256(body).hexdigest()
        if digest != name:
            raise PayloadHashMismatch(f"payload {name}: expected a body with that SHA-256, got one hashing to {digest}")
        if target.exists():
            return False
        new_dir = not target.parent.exists()
        target.parent.mkdir(exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self._tmp, prefix=name[:16] + ".")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temp, target)  # a racing put of the same bytes replaces equal bytes
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        if new_dir:
            _fsync_dir(self.root)  # the new fan-out directory's own entry
        return True

    def get(self, name: str) -> bytes | None:
        """The payload's bytes, or None when it is not held."""
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
