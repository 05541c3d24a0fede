"""How the emulated modem's AT ports reach a client: a pty with a stable symlink, or RFC 2217 over TCP.

Each transport gives every connection its own :class:`~devices.modem.firmware.AtPort` over the
shared radio, so the pty and an RFC 2217 client behave like a module's two AT interfaces.

pty: ``os.openpty()``; the slave is put in raw mode at once (otherwise its line discipline would
echo the emulator's own output back to it before a client opens the port) and kept open by the
emulator, so clients can close and reopen the port without the master seeing EOF. Writes to the
master are non-blocking: when no client reads and the pty buffer fills, output is dropped, as a
UART with nobody listening drops it.

RFC 2217: pyserial's :class:`serial.rfc2217.PortManager` does the Telnet/COM-PORT-OPTION side; the
"serial port" it configures is :class:`VirtualUart`, which accepts any setting (a USB ACM port
ignores baud rate too). Clients connect with ``rfc2217://HOST:PORT``, as to ser2net on a rig.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import threading
import tty
from collections.abc import Callable
from pathlib import Path

import serial.rfc2217

from .firmware import AtPort

PortFactory = Callable[[Callable[[bytes], None]], AtPort]


class PtyTransport:
    """An AT port on a pty; ``path`` is the stable symlink clients open (pointing at /dev/pts/N)."""

    def __init__(self, make_port: PortFactory, link: Path) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self.slave)
        self.path = Path(link)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(self.device, tmp)
        os.replace(tmp, self.path)  # atomic: a client never sees a missing or half-made link
        self._stop_r, self._stop_w = os.pipe()
        self.dropped = 0
        self.port = make_port(self._write)
        self._thread = threading.Thread(target=self._run, name=f"modem-pty {self.path}", daemon=True)
        self._thread.start()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = os.write(self.master, view)
                view = view[sent:]
            except BlockingIOError:
                _, ready, _ = select.select([], [self.master], [], 0.5)
                if not ready:
                    self.dropped += len(view)
                    return
            except OSError:
                return

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self.master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:
                    continue
                return
            if data:
                self.port.feed(data)

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=2)
        self.port.close()
        with contextlib.suppress(FileNotFoundError):
            if self.path.is_symlink() and os.readlink(self.path) == self.device:
                self.path.unlink()
        for fd in (self.master, self.slave, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class VirtualUart:
    """The serial-port side PortManager configures: every setting accepted, modem lines always up."""

    def __init__(self) -> None:
        self.baudrate, self.bytesize, self.parity, self.stopbits = 115200, 8, "N", 1
        self.rtscts = self.xonxoff = False
        self.dtr = self.rts = True
        self.break_condition = False
        self.cts = self.dsr = self.cd = True
        self.ri = False

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass


class Rfc2217Server:
    """RFC 2217 on ``host:port`` (0 picks a free port, see ``address``); one AtPort per connection."""

    def __init__(self, make_port: PortFactory, host: str = "127.0.0.1", port: int = 0) -> None:
        self._make_port = make_port
        self._listener = socket.create_server((host, port))
        self.address = self._listener.getsockname()[:2]
        self._closed = threading.Event()
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="modem-rfc2217", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), name="modem-rfc2217-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        lock = threading.Lock()

        class _Conn:
            @staticmethod
            def write(data: bytes) -> None:
                with lock, contextlib.suppress(OSError):
                    conn.sendall(data)

        # PortManager drives any object with pyserial's port and write interfaces (duck-typed)
        manager = serial.rfc2217.PortManager(VirtualUart(), _Conn())  # type: ignore[arg-type]
        port = self._make_port(lambda data: _Conn.write(b"".join(manager.escape(data))))
        try:
            while not self._closed.is_set():
                data = conn.recv(4096)
                if not data:
                    break
                payload = b"".join(manager.filter(data))
                if payload:
                    port.feed(payload)
        except OSError:
            pass
        finally:
            port.close()
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        with contextlib.suppress(OSError):
            self._listener.close()
        for conn in self._connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
        self._thread.join(timeout=2)
