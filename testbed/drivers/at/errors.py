"""Why an AT exchange failed: a bad response, a refused command, a timeout, a lost port.

All derive from :class:`AtError` (a :class:`~testbed.errors.TestbedError`, exit code 7), so a CLI
command reports them like any other testbed error while a test can assert the exact reason.
"""

from __future__ import annotations

from ...errors import TestbedError


class AtError(TestbedError):
    """Base of every failure talking AT to a modem."""

    exit_code = 7


class ResponseInvalid(AtError, ValueError):
    """A response line does not have the layout, field count or value range its command promises."""


class CommandFailed(AtError):
    """The modem answered ``ERROR``, ``+CME ERROR`` or ``+CMS ERROR``; ``code`` is numeric when it said one."""

    def __init__(self, command: str, final: str, lines: tuple[str, ...] = ()) -> None:
        self.command = command
        self.final = final
        self.lines = lines
        self.code: int | None = None
        self.text: str | None = None
        kind, _, detail = final.partition(":")
        detail = detail.strip()
        if kind in ("+CME ERROR", "+CMS ERROR"):
            if detail.isdigit():
                self.code = int(detail)
            else:
                self.text = detail
        super().__init__(f"{command!r}: modem answered {final!r}")

    @property
    def cme(self) -> bool:
        return self.final.startswith("+CME ERROR")


class AtTimeout(AtError):
    """No final result code within the command's time limit; ``lines`` is what did arrive."""

    exit_code = 8

    def __init__(self, command: str, seconds: float, lines: tuple[str, ...]) -> None:
        self.command = command
        self.seconds = seconds
        self.lines = lines
        got = f"got {len(lines)} line(s): {list(lines)[:4]!r}" if lines else "got nothing"
        super().__init__(f"{command!r}: expected a final result code within {seconds:g} s, {got}")


class PortClosed(AtError):
    """The serial port went away (closed, unplugged, the emulator stopped) during or before a command."""
