"""Modem emulators for an emulated rig: one ``python -m devices.modem`` per modem node that carries a link.

Where they live (so tests, the coupler and ``testbed modem`` find them by rig and node)::

    $TESTBED_RUN_DIR/rigs/<rig>/modems/<node>/at             the AT pty (symlink to /dev/pts/N)
    $TESTBED_RUN_DIR/rigs/<rig>/modems/<node>/control        the JSON-lines control socket
    $TESTBED_RUN_DIR/rigs/<rig>/modems/<node>/emulator.json  pid, paths, links it carries
    $TESTBED_RUN_DIR/rigs/<rig>/modems/<node>/emulator.log   the emulator's stderr

Each emulator runs inside its modem node's network namespace (``rig.popen``), as the module sits
on that box; the pty and the Unix socket are reached by path from anywhere. Because it runs in
the node's namespace, ``testbed down``/``clean`` stop it with the rig even when nobody called
:meth:`ModemEmulators.stop`, and removing the rig's run directory removes these files.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends import state as st
from ..errors import RigNotFound, TestbedError

REPO = Path(__file__).resolve().parents[2]
#: sun_path holds 108 bytes including the terminating NUL.
UNIX_PATH_MAX = 107
HANDLE = "emulator.json"


class EmulatorError(TestbedError):
    """An emulator did not start (or its socket path cannot be bound)."""


def modem_dir(rig: str, node: str) -> Path:
    return st.rig_dir(rig) / "modems" / node


def modem_links(rig_state: dict[str, Any]) -> dict[str, list[str]]:
    """Modem node -> the links that go ``via`` it, for every node of role modem that carries one."""
    modems = {n["name"] for n in rig_state["nodes"] if n.get("role") == "modem"}
    out: dict[str, list[str]] = {}
    for link in rig_state["links"]:
        if link.get("via") in modems:
            out.setdefault(link["via"], []).append(link["name"])
    return out


@dataclass
class ModemEmulator:
    """One running emulator: its node, the links it carries, pty and control paths, the process."""

    node: str
    links: list[str]
    directory: Path
    pty: Path
    control: Path
    process: subprocess.Popen[Any] | None = None
    pid: int = 0

    @property
    def url(self) -> str:
        """The pyserial URL for :class:`testbed.drivers.at.AtClient`: the pty's stable path."""
        return str(self.pty)

    def control_client(self, timeout: float = 5.0) -> Any:
        from devices.modem.control import ControlClient

        return ControlClient(self.control, timeout=timeout)

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return _pid_is_emulator(self.pid)

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM (the emulator removes its pty link and socket), SIGKILL after ``grace`` seconds."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(grace)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
        elif _pid_is_emulator(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        with contextlib.suppress(FileNotFoundError):
            (self.directory / HANDLE).unlink()


@dataclass
class ModemEmulators:
    """The emulators of one rig, by node; ``stop()`` (or leaving a ``with``) terminates them all."""

    rig: str
    by_node: dict[str, ModemEmulator] = field(default_factory=dict)

    def __getitem__(self, node: str) -> ModemEmulator:
        try:
            return self.by_node[node]
        except KeyError:
            raise RigNotFound(f"rig {self.rig!r}: no emulator for node {node!r}; "
                              f"emulated modems: {', '.join(self.by_node) or 'none'}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_node.values())

    def __len__(self) -> int:
        return len(self.by_node)

    def for_link(self, link: str) -> ModemEmulator:
        for emulator in self.by_node.values():
            if link in emulator.links:
                return emulator
        raise RigNotFound(f"rig {self.rig!r}: no emulated modem carries link {link!r}")

    def stop(self) -> None:
        for emulator in self.by_node.values():
            emulator.stop()

    def __enter__(self) -> ModemEmulators:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulators(rig: Any, nodes: list[str] | None = None, *, attach_delay: float = 0.05,
                    dialect: str = "RM520N", timeout: float = 15.0) -> ModemEmulators:
    """Start an emulator for each modem node of ``rig`` (an EmulatedRig) that carries a link
    (or for ``nodes``), wait until each prints ``ready``, and return their handles.

    On any failure the ones already started are stopped before the error is raised.
    """
    carried = modem_links(rig.state)
    wanted = list(carried) if nodes is None else list(nodes)
    for node in wanted:
        entry = rig.node(node)  # RigNotFound for an unknown node
        if entry.get("role") != "modem":
            raise RigNotFound(f"node {node!r} of rig {rig.name!r} has role {entry.get('role')!r}, not modem")
    started = ModemEmulators(rig.name)
    try:
        for node in wanted:
            started.by_node[node] = _start_one(rig, node, carried.get(node, []), attach_delay, dialect, timeout)
    except BaseException:
        started.stop()
        raise
    return started


def _start_one(rig: Any, node: str, links: list[str], attach_delay: float, dialect: str,
               timeout: float) -> ModemEmulator:
    directory = modem_dir(rig.name, node)
    directory.mkdir(parents=True, exist_ok=True)
    at, control = directory / "at", directory / "control"
    if len(os.fsencode(str(control))) > UNIX_PATH_MAX:
        raise EmulatorError(f"control socket path {control} is {len(os.fsencode(str(control)))} bytes; a Unix "
                            f"socket path holds at most {UNIX_PATH_MAX}: use a shorter $TESTBED_RUN_DIR")
    existing = find_emulator(rig.name, node)
    if existing is not None:
        raise EmulatorError(f"an emulator for node {node!r} of rig {rig.name!r} is already running "
                            f"(pid {existing.pid})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
           "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "devices.modem", "--link", str(at), "--control", str(control),
            "--dialect", dialect, "--attach-delay", str(attach_delay)]
    with open(directory / "emulator.log", "ab") as log:
        process = rig.popen(node, argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env,
                            cwd=str(REPO), start_new_session=True)
    emulator = ModemEmulator(node, list(links), directory, at, control, process, process.pid)
    try:
        _wait_ready(process, timeout, directory / "emulator.log")
    except BaseException:
        emulator.stop()
        raise
    handle = {"rig": rig.name, "node": node, "pid": process.pid, "pty": str(at), "control": str(control),
              "links": list(links), "started": st.now()}
    tmp = directory / f".{HANDLE}.tmp"
    tmp.write_text(json.dumps(handle, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, directory / HANDLE)
    return emulator


def _wait_ready(process: subprocess.Popen[Any], timeout: float, log: Path) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EmulatorError(f"the modem emulator (pid {process.pid}) did not print 'ready' within "
                                    f"{timeout:g} s; its output: {seen.decode(errors='replace')!r}; see {log}")
            if sel.select(left):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    process.wait(2)
                    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                    raise EmulatorError(f"the modem emulator exited with code {process.returncode} before it "
                                        f"was ready:\n{tail}")
                seen += chunk
                if b"\nready\n" in b"\n" + seen:
                    return


def _pid_is_emulator(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        return False
    return b"devices.modem" in argv


def find_emulator(rig: str, node: str) -> ModemEmulator | None:
    """The emulator running for ``node`` of ``rig`` (started by any process), or None."""
    directory = modem_dir(rig, node)
    try:
        handle = json.loads((directory / HANDLE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    pid = int(handle.get("pid", 0))
    if not _pid_is_emulator(pid) or not os.path.exists(handle["pty"]):
        return None
    return ModemEmulator(node, list(handle.get("links", [])), directory, Path(handle["pty"]),
                         Path(handle["control"]), None, pid)
