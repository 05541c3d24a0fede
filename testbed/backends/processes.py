"""Processes living in a rig's namespaces, found by namespace identity and stopped before removal.

A namespace whose name is removed lives on while a process holds it, with its veths and
routes; so ``down`` stops every process inside first. Matching is by the namespace's
inode (``/proc/PID/ns/net``), never by process name.
"""

from __future__ import annotations

import os
import signal
import time


def pids_in(inodes: set[int]) -> dict[int, int]:
    """PID -> namespace inode for every process whose network namespace is one of ``inodes``."""
    found: dict[int, int] = {}
    if not inodes:
        return found
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            inode = os.stat(f"/proc/{entry.name}/ns/net").st_ino
        except OSError:
            continue  # gone, or a kernel thread
        if inode in inodes:
            found[int(entry.name)] = inode
    return found


def stop_processes(inodes: set[int], grace: float = 2.0) -> list[int]:
    """SIGTERM every process in the namespaces, SIGKILL what is left after ``grace`` seconds."""
    pids = list(pids_in(inodes))
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:
        _signal(pid, signal.SIGKILL)
    return pids


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
