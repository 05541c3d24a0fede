"""The emulator's control channel: scenario steps for the radio, over a Unix socket, one JSON object a line.

Why a separate socket and not extra ``AT#EMU…`` commands on the AT port: the AT port then carries
exactly the bytes a real module would, so a transcript from the emulator and one from a rig can be
compared line for line; the controller can change the radio while a test holds the AT port (even in
the middle of a 180 s ``AT+COPS``), without competing for it; and on a real rig the same role is
played by a different box (an RF attenuator or channel emulator), not by the modem. A Unix socket is
reachable by path from any network namespace, which is where emulated nodes run.

Request ``{"op": "handover", "cell": "site-b"}``; answer ``{"ok": true, "state": {...}}`` or
``{"ok": false, "error": "..."}``. Operations (all answer with the radio state afterwards):

    state                                   nothing changes
    signal   rsrp, rsrq, sinr (any subset)  set levels at once
    fade     rsrp, rsrq, sinr, seconds[, steps]  ramp levels (cell edge: -120, -17, -5)
    handover cell                           move to a defined cell (site-a, site-b, lte-only)
    coverage rats                           what the network offers: ["LTE"] = LTE fallback, [] = lost
    limited  on                             camped but registration rejected (LIMSRV, stat 3)
    sim      present                        insert or remove the SIM
    power_on                                boot after AT+QPOWD (RDY and SIM URCs follow)
    urc      line                           send an arbitrary URC on every AT port
    chaos    rate[, seed]                   random URCs between output lines (client stress tests)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .radio import Event, Radio


class ControlError(Exception):
    """The emulator refused a control request; the message says why."""


class ControlServer:
    """Serves control requests for ``radio`` on a Unix socket at ``path``."""

    def __init__(self, radio: Radio, path: Path, set_chaos: Callable[[float, int], None]) -> None:
        self.radio = radio
        self.path = Path(path)
        self._set_chaos = set_chaos
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for raw in self.rfile:
                    self.wfile.write(json.dumps(owner.handle(raw)).encode() + b"\n")
                    self.wfile.flush()

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self._server = Server(str(self.path), Handler)
        os.chmod(self.path, 0o660)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="modem-control",
                                        daemon=True)
        self._thread.start()

    def handle(self, raw: bytes) -> dict[str, Any]:
        try:
            request = json.loads(raw)
            if not isinstance(request, dict) or not isinstance(request.get("op"), str):
                raise ValueError('expected a JSON object with "op", got ' + raw.decode(errors="replace")[:200])
            self.apply(request)
            with self.radio.lock:
                return {"ok": True, "state": self.radio.snapshot()}
        except (ValueError, TypeError, KeyError) as exc:
            return {"ok": False, "error": str(exc)}

    def apply(self, request: dict[str, Any]) -> None:
        op = request["op"]
        args = {k: v for k, v in request.items() if k != "op"}
        radio = self.radio

        def need(*names: str, optional: tuple[str, ...] = ()) -> None:
            missing = [n for n in names if n not in args]
            extra = [n for n in args if n not in names and n not in optional]
            if missing or extra:
                raise ValueError(f"{op}: expected fields {list(names) + list(optional)}, "
                                 f"missing {missing}, unknown {extra}")

        if op == "state":
            need()
        elif op == "signal":
            need(optional=("rsrp", "rsrq", "sinr"))
            radio.set_signal(**{k: int(v) for k, v in args.items()})
        elif op == "fade":
            need("rsrp", "rsrq", "sinr", "seconds", optional=("steps",))
            radio.fade(int(args["rsrp"]), int(args["rsrq"]), int(args["sinr"]), float(args["seconds"]),
                       int(args.get("steps", 10)))
        elif op == "handover":
            need("cell")
            radio.handover(str(args["cell"]))
        elif op == "coverage":
            need("rats")
            radio.set_offers(list(args["rats"]))
        elif op == "limited":
            need("on")
            radio.set_limited(bool(args["on"]))
        elif op == "sim":
            need("present")
            radio.set_sim(bool(args["present"]))
        elif op == "power_on":
            need()
            radio.power_on()
        elif op == "urc":
            need("line")
            line = str(args["line"])
            if not line or any(c in line for c in "\r\n"):
                raise ValueError(f"urc: expected one non-empty line, got {line!r}")
            radio.emit(Event("urc", (line,)))
        elif op == "chaos":
            need("rate", optional=("seed",))
            rate = float(args["rate"])
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"chaos: rate: expected 0..1, got {rate}")
            self._set_chaos(rate, int(args.get("seed", 0)))
        else:
            raise ValueError(f"unknown op {op!r}: expected state, signal, fade, handover, coverage, limited, sim, "
                             "power_on, urc or chaos")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class ControlClient:
    """The controller's side: ``ControlClient(path).call("handover", cell="site-b")`` → radio state."""

    def __init__(self, path: str | Path, timeout: float = 5.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(path))
        self._file = self._sock.makefile("rwb")

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        self._file.write(json.dumps({"op": op, **args}).encode() + b"\n")
        self._file.flush()
        answer = json.loads(self._file.readline())
        if not answer.get("ok"):
            raise ControlError(answer.get("error", "refused"))
        return answer["state"]

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
