"""``python -m devices.modem``: run an emulated 5G modem until SIGTERM or SIGINT.

    python -m devices.modem --link /tmp/modem0/at [--control /tmp/modem0/control]
                            [--rfc2217 127.0.0.1:3333] [--dialect RM500Q]

Prints one line per endpoint once it is ready, then ``ready``:

    at: /tmp/modem0/at -> /dev/pts/7
    rfc2217: rfc2217://127.0.0.1:3333
    control: /tmp/modem0/control
    ready
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .emulator import Emulator
from .firmware import DIALECTS


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:3333, got {value!r}")
    return host.strip("[]"), int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.modem", description=__doc__.splitlines()[0])
    parser.add_argument("--link", type=Path, required=True, help="stable symlink to create for the AT pty")
    parser.add_argument("--control", type=Path, help="Unix socket path for the control channel")
    parser.add_argument("--rfc2217", type=_listen, metavar="HOST:PORT", help="also serve AT over RFC 2217")
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default="RM520N")
    parser.add_argument("--attach-delay", type=float, default=0.5, metavar="SECONDS",
                        help="time from RF on to registration (default 0.5)")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    emulator = Emulator(link=args.link, control=args.control, dialect=args.dialect, rfc2217=args.rfc2217,
                        attach_delay=args.attach_delay)
    try:
        print(f"at: {emulator.pty.path} -> {emulator.pty.device}")
        if emulator.rfc2217:
            host, port = emulator.rfc2217.address
            print(f"rfc2217: rfc2217://{host}:{port}")
        if emulator.control:
            print(f"control: {emulator.control.path}")
        print("ready", flush=True)
        done.wait()
    finally:
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
