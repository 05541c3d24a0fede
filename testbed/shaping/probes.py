"""Traffic probes run inside a rig's nodes, for tests and benches that measure shaping.

A probe is a short Python program started in a node with ``rig.popen``/``rig.run``, so it
uses the node's own interfaces and qdiscs, as a device's traffic would.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Any

_RECEIVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); got = 0; start = None
while True:
    data = c.recv(65536)
    if not data: break
    if start is None: start = time.monotonic()
    got += len(data)
print(got, time.monotonic() - start, flush=True)
"""
_SENDER = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2]))); s.sendall(b"x" * int(sys.argv[3])); s.close()
"""


@dataclass(frozen=True)
class Goodput:
    """Payload bytes a TCP receiver got, over the time from its first byte to the end."""

    bytes: int
    seconds: float

    @property
    def bps(self) -> float:
        return self.bytes * 8 / self.seconds


def tcp_goodput(rig: Any, sender: str, receiver: str, address: str, size: int, port: int = 5001,
                timeout: float = 120) -> Goodput:
    """Send ``size`` bytes over TCP from node ``sender`` to ``address:port`` in node ``receiver``."""
    server = rig.popen(receiver, [sys.executable, "-c", _RECEIVER, address, str(port)],
                       stdout=subprocess.PIPE, text=True)
    try:
        ready = server.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"the receiver in {receiver} did not start: {ready!r}")
        rig.run(sender, [sys.executable, "-c", _SENDER, address, str(port), str(size)], timeout=timeout,
                check=True)
        got, seconds = server.stdout.readline().split()
        return Goodput(int(got), float(seconds))
    finally:
        server.kill()
        server.wait()
