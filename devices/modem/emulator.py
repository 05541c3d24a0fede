"""One emulated module: a radio, its AT ports (pty, optional RFC 2217) and the control socket."""

from __future__ import annotations

import threading
from pathlib import Path

from .control import ControlServer
from .firmware import DIALECTS, AtPort
from .radio import Radio
from .transport import PtyTransport, Rfc2217Server


class Emulator:
    """Start everything in the constructor; ``close()`` stops it and removes the links it made."""

    def __init__(self, *, link: Path, control: Path | None = None, dialect: str = "RM520N",
                 rfc2217: tuple[str, int] | None = None, attach_delay: float = 0.05,
                 boot_delay: float = 0.2) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect: expected one of {sorted(DIALECTS)}, got {dialect!r}")
        self.radio = Radio(attach_delay=attach_delay)
        self._ports: list[AtPort] = []
        self._lock = threading.Lock()
        self._chaos = (0.0, 0)

        def make_port(write):  # type: ignore[no-untyped-def]
            port = AtPort(self.radio, write, DIALECTS[dialect], boot_delay=boot_delay)
            with self._lock:
                self._ports.append(port)
                if self._chaos[0]:
                    port.set_chaos(*self._chaos)
            return port

        self.pty = PtyTransport(make_port, link)
        self.rfc2217 = Rfc2217Server(make_port, *rfc2217) if rfc2217 else None
        self.control = ControlServer(self.radio, control, self.set_chaos) if control else None

    @property
    def port(self) -> AtPort:
        """The pty's AT port (for in-process use; clients talk to ``pty.path``)."""
        return self.pty.port

    def set_chaos(self, rate: float, seed: int = 0) -> None:
        with self._lock:
            self._chaos = (rate, seed)
            for port in self._ports:
                port.set_chaos(rate, seed)

    def close(self) -> None:
        if self.control:
            self.control.close()
        if self.rfc2217:
            self.rfc2217.close()
        self.pty.close()
        self.radio.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
