"""Fixtures for the AT driver suites: the real emulator on a real pty, and a raw pty peer.

The raw peer is the other end of an ``os.openpty()`` pair driven byte by byte by the test: it plays
a modem that misbehaves in ways the emulator never would (silence, half lines, binary garbage,
hanging up), so the client is tested against exact bytes with exact timing.
"""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.modem import Emulator


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator(link=tmp_path / "at", control=tmp_path / "control", attach_delay=0.02, boot_delay=0.05)
    deadline = time.monotonic() + 2
    while not emu.radio.snapshot()["attached"] and time.monotonic() < deadline:
        time.sleep(0.01)
    yield emu
    emu.close()


class Peer:
    """The modem side of a pty pair, scripted by the test."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def read_line(self, timeout: float = 2.0) -> bytes:
        """One command line as the client sent it (up to and without its CR)."""
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\r"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"peer: expected a command line ending in CR, got {data!r}")
            data += os.read(self.master, 1)
        return data[:-1]

    def send(self, *chunks: bytes, gap: float = 0.0) -> None:
        for chunk in chunks:
            os.write(self.master, chunk)
            if gap:
                time.sleep(gap)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()
