"""An AT command client over any pyserial URL: a device path, ``rfc2217://host:port``, the emulator's pty.

The labgrid ShellDriver pattern, applied to AT: send one command line, then read until a marker that
cannot be confused with output, here the final result code (``OK``, ``ERROR``, ``+CME ERROR: …``,
``+CMS ERROR: …``), never a fixed number of lines.

One reader thread owns the port and splits the byte stream into lines at every CR or LF. Each line
is then either

- the echo of the command in flight (dropped; echo may be on or off, ATE0 is not required),
- the final result code of the command in flight (completes it),
- an unsolicited result code (delivered to subscribers; the modem may send one between any two lines,
  including between the lines of a multi-line answer), or
- an information line of the command in flight.

Telling a URC from an information line: a line is a URC when it starts with a known URC prefix that
the command in flight does not answer with. When it does (``AT+CEREG?`` while a ``+CEREG:`` URC
arrives), the shape decides for registration lines (the answer starts ``<n>,<stat>``, the URC
``<stat>`` then a quoted area), and for ``+CPIN:``/``+CFUN:`` the first line is the answer and any
further one a URC (their bytes are identical, so nothing better exists). Lines that arrive with no
command in flight are URCs, whatever they say. Garbage bytes are decoded with replacement, and a
line longer than ``max_line`` bytes is dropped whole (counted in ``stats``).

Known limits: after a timeout, the late rest of that answer is routed away (stray final codes are
counted in ``stats``) only while no new command is in flight; a final code that arrives after the
next command was sent is taken as that command's. Send ``AT`` and check it before trusting the port
again. A URC whose prefix is not in :data:`URC_PREFIXES` that arrives while a command is in flight
is taken as an information line of that command.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import serial

from devices.wire.at import split_chain

from .errors import AtTimeout, CommandFailed, PortClosed
from .parsers import REGISTRATION_PREFIXES, registration_is_urc

log = logging.getLogger(__name__)

FINAL_OK = "OK"
FINAL_ERRORS = ("ERROR", "+CME ERROR:", "+CMS ERROR:", "NO CARRIER")

URC_PREFIXES = ("+CREG:", "+CEREG:", "+C5GREG:", "+CGEV:", "+QIND:", "+QUSIM:", "+CPIN:", "+CFUN:",
                "+QSIMSTAT:", "+CTZV:", "+QNETDEVSTATUS:")
URC_WORDS = ("RDY", "POWERED DOWN")
_FIRST_ONLY = ("+CPIN:", "+CFUN:")  # URC and answer share their bytes: the first one answers

# Maximum response times from the manual (seconds); everything else gets the client default.
SLOW_COMMANDS = {"+CFUN": 15.0, "+COPS": 180.0, "+CGACT": 150.0, "+QPOWD": 5.0}

_ELEMENT_PREFIX = re.compile(r"^(\+[A-Z0-9]+)")
_EOL = re.compile(rb"[\r\n]")


@dataclass(frozen=True)
class Urc:
    """One unsolicited line, with the monotonic time it arrived."""

    line: str
    at: float

    @property
    def prefix(self) -> str:
        """``+CEREG`` for ``+CEREG: 1``, the whole line for word URCs such as ``RDY``."""
        head, sep, _ = self.line.partition(":")
        return head if sep else self.line


@dataclass(frozen=True)
class Response:
    """A completed command: its information lines (echo and URCs removed) and the final ``OK``."""

    command: str
    lines: tuple[str, ...]
    final: str = FINAL_OK


@dataclass
class ClientStats:
    """What the reader threw away, so a test can assert that nothing was."""

    overlong_lines: int = 0
    stray_finals: int = 0
    urcs: int = 0
    callback_errors: int = 0


class Subscription:
    """URCs matching ``prefixes`` (all when empty), queued for :meth:`get` or handed to a callback."""

    def __init__(self, client: AtClient, prefixes: tuple[str, ...], callback: Callable[[Urc], None] | None) -> None:
        self._client = client
        self.prefixes = prefixes
        self.callback = callback
        self.queue: queue.Queue[Urc] = queue.Queue(maxsize=10_000)

    def wants(self, urc: Urc) -> bool:
        return not self.prefixes or urc.prefix in self.prefixes or urc.line in self.prefixes

    def deliver(self, urc: Urc) -> None:
        if self.callback is not None:
            self.callback(urc)
            return
        with contextlib.suppress(queue.Full):  # a subscriber that never reads must not stop the reader
            self.queue.put_nowait(urc)

    def get(self, timeout: float = 5.0, match: Callable[[Urc], bool] | None = None) -> Urc:
        """The next queued URC for which ``match`` holds (those before it are dropped); ``queue.Empty`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise queue.Empty
            urc = self.queue.get(timeout=left)
            if match is None or match(urc):
                return urc

    def drain(self) -> list[Urc]:
        out = []
        with contextlib.suppress(queue.Empty):
            while True:
                out.append(self.queue.get_nowait())
        return out

    def close(self) -> None:
        self._client._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Pending:
    """The command in flight, as the reader thread sees it."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.echo_seen = False
        self.expected = expected_prefixes(command)
        self.seen: set[str] = set()
        self.lines: list[str] = []
        self.final: str | None = None
        self.done = threading.Event()


def expected_prefixes(command: str) -> frozenset[str]:
    """The ``+XXX:`` prefixes the commands of a (possibly chained) command line answer with."""
    body = command.strip()
    if body[:2].upper() == "AT":
        body = body[2:]
    out = set()
    for element in split_chain(body):
        match = _ELEMENT_PREFIX.match(element.strip().upper())
        if match:
            out.add(match.group(1) + ":")
    return frozenset(out)


def is_final(line: str) -> bool:
    return line == FINAL_OK or line == "ERROR" or line.startswith(FINAL_ERRORS[1:])


def looks_unsolicited(line: str) -> bool:
    return line in URC_WORDS or line.startswith(URC_PREFIXES)


@dataclass
class _Stream:
    """Byte-to-line splitting with the overlong-line guard."""

    max_line: int
    buffer: bytearray = field(default_factory=bytearray)
    skipping: bool = False

    def feed(self, data: bytes, stats: ClientStats) -> list[str]:
        lines = []
        self.buffer += data
        *complete, rest = _EOL.split(bytes(self.buffer))
        self.buffer = bytearray(rest)
        for raw in complete:
            if self.skipping:  # the tail of an overlong line
                self.skipping = False
                continue
            if len(raw) > self.max_line:
                stats.overlong_lines += 1
                continue
            text = raw.decode("utf-8", "replace").strip()
            if text:
                lines.append(text)
        if len(self.buffer) > self.max_line:
            self.buffer.clear()
            if not self.skipping:
                stats.overlong_lines += 1
            self.skipping = True
        return lines


class AtClient:
    """Send AT commands and collect responses; URCs go to subscribers. Thread-safe, one command at a time."""

    def __init__(self, url: str, *, timeout: float = 5.0, baudrate: int = 115200, max_line: int = 4096) -> None:
        self.url = url
        self.timeout = timeout
        self.stats = ClientStats()
        try:
            if url.startswith("rfc2217://"):  # rfc2217 refuses a write timeout
                self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.2)
            else:
                self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.2, write_timeout=5.0)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise PortClosed(f"{url}: cannot open the AT port: {exc}") from None
        self._stream = _Stream(max_line)
        self._lock = threading.Lock()  # one command at a time
        self._state = threading.Lock()  # guards _pending and _subscriptions
        self._pending: _Pending | None = None
        self._subscriptions: list[Subscription] = []
        self._closed = threading.Event()
        self._error: str | None = None
        self._reader = threading.Thread(target=self._read_loop, name=f"at-reader {url}", daemon=True)
        self._reader.start()

    # public ------------------------------------------------------------------------------------

    def command(self, command: str, timeout: float | None = None, *, check: bool = True) -> Response:
        """Send ``command`` (``AT`` prefix included) and wait for its final result code.

        Raises :class:`CommandFailed` on ``ERROR``/``+CME ERROR``/``+CMS ERROR`` (unless ``check`` is
        false), :class:`AtTimeout` when none arrives in time, :class:`PortClosed` when the port goes.
        """
        if any(c in command for c in "\r\n"):
            raise ValueError(f"expected one command line without CR or LF, got {command!r}")
        command = command.strip()
        if not command[:2].upper() == "AT":
            raise ValueError(f"expected one command line starting with AT, got {command!r}")
        limit = timeout if timeout is not None else self._default_timeout(command)
        with self._lock:
            pending = _Pending(command)
            with self._state:
                if self._error is not None:
                    raise PortClosed(f"{self.url}: {self._error}")
                self._pending = pending
            try:
                self._port.write(command.encode() + b"\r")
            except (serial.SerialException, OSError) as exc:
                with self._state:
                    self._pending = None
                raise PortClosed(f"{self.url}: write failed: {exc}") from None
            finished = pending.done.wait(limit)
            with self._state:
                self._pending = None
            if not finished:
                raise AtTimeout(command, limit, tuple(pending.lines))
            if pending.final is None:
                raise PortClosed(f"{self.url}: {self._error or 'port closed'} during {command!r}")
        response = Response(command, tuple(pending.lines), pending.final)
        if check and pending.final != FINAL_OK:
            raise CommandFailed(command, pending.final, response.lines)
        return response

    def subscribe(self, *prefixes: str, callback: Callable[[Urc], None] | None = None) -> Subscription:
        """URCs with these prefixes (``"+CEREG"``, ``"RDY"``; none = all), queued or passed to ``callback``.

        Callbacks run on the reader thread: keep them short and never call :meth:`command` from one.
        """
        sub = Subscription(self, tuple(p.rstrip(":") for p in prefixes), callback)
        with self._state:
            self._subscriptions.append(sub)
        return sub

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(Exception):
            self._port.cancel_read()
        self._reader.join(timeout=2.0)
        with contextlib.suppress(Exception):
            self._port.close()

    def __enter__(self) -> AtClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reader ------------------------------------------------------------------------------------

    def _default_timeout(self, command: str) -> float:
        limits = [SLOW_COMMANDS.get(p.rstrip(":"), 0.0) for p in expected_prefixes(command)]
        return max([self.timeout, *limits])

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._state, contextlib.suppress(ValueError):
            self._subscriptions.remove(sub)

    def _read_loop(self) -> None:
        port = self._port
        try:
            while not self._closed.is_set():
                data = port.read(port.in_waiting or 1)
                if data:
                    self._handle_lines(self._stream.feed(data, self.stats))
        except (serial.SerialException, OSError, TypeError) as exc:  # TypeError: pyserial after close
            if not self._closed.is_set():
                self._fail(f"port lost: {exc}")
                return
        self._fail("client closed")

    def _fail(self, reason: str) -> None:
        with self._state:
            self._error = reason
            pending = self._pending
        if pending is not None:
            pending.done.set()

    def _handle_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            urc = None
            with self._state:
                pending = self._pending
                if pending is None or pending.done.is_set():
                    if is_final(line):
                        self.stats.stray_finals += 1
                    else:
                        urc = Urc(line, time.monotonic())
                elif not pending.echo_seen and not pending.lines and line.upper().endswith(pending.command.upper()):
                    pending.echo_seen = True
                elif is_final(line):
                    pending.final = line
                    pending.done.set()
                elif self._unsolicited_now(line, pending):
                    urc = Urc(line, time.monotonic())
                else:
                    pending.lines.append(line)
                    pending.seen.add(line.partition(":")[0] + ":")
                subs = list(self._subscriptions) if urc else []
            if urc is not None:
                self.stats.urcs += 1
                for sub in subs:
                    if sub.wants(urc):
                        try:
                            sub.deliver(urc)
                        except Exception:  # a broken subscriber must not take the port down
                            self.stats.callback_errors += 1
                            log.exception("URC callback failed for %r", urc.line)

    @staticmethod
    def _unsolicited_now(line: str, pending: _Pending) -> bool:
        if not looks_unsolicited(line):
            return False
        prefix = line.partition(":")[0] + ":"
        if prefix not in pending.expected:
            return True
        if prefix[:-1] in REGISTRATION_PREFIXES:
            return registration_is_urc(line)
        if prefix in _FIRST_ONLY:
            return prefix in pending.seen
        return False
