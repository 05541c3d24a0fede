"""Target processes started in a node's namespace, with their output in a log file.

Output goes to a file, not a pipe: nobody has to keep reading it for the process to make
progress, and the log survives for the report. Readiness is a line the target prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..backends.emulated import EmulatedRig
from .errors import AgentError

REPO = Path(__file__).resolve().parents[2]  # holds devices/, which the targets import
PYTHON = sys.executable


def target_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Target:
    """A running target: its node, process and log file."""

    node: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_for_line(self, prefix: str, timeout: float = 60) -> str:
        """The first log line starting with ``prefix``; on exit or timeout kill the process and fail."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line
            if self.process.poll() is not None:
                raise AgentError(f"{self.node}: expected a line {prefix!r}, got exit {self.process.returncode}: "
                                 f"{self.tail()}")
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise AgentError(f"{self.node}: expected a line {prefix!r} within {timeout} s, got: {self.tail()}")
            time.sleep(0.02)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, wait for a clean exit; SIGKILL (and fail) if it does not come in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AgentError(f"{self.node}: expected an exit within {timeout} s of SIGTERM, got none "
                             f"(killed): {self.tail()}") from None

    def tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-lines:]) or "(no output)"
        except OSError:
            return "(no log)"


def start(rig: EmulatedRig, node: str, argv: Sequence[str], log: Path) -> Target:
    with open(log, "wb") as out:
        process = rig.popen(node, list(argv), cwd=REPO, env=target_env(), stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    return Target(node, process, log)


def run(rig: EmulatedRig, node: str, argv: Sequence[str], what: str, timeout: float = 30) -> str:
    """Run a short target command in the node; its stdout, or an error naming ``what``."""
    done = rig.run(node, list(argv), timeout=timeout, cwd=REPO, env=target_env())
    if done.returncode != 0:
        raise AgentError(f"{node}: {what}: expected exit 0, got {done.returncode}: {done.stderr.strip()}")
    return str(done.stdout)
