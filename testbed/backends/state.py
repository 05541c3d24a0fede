"""The run directory: what each rig created, written before and after it is created.

Layout, one folder per rig under ``$TESTBED_RUN_DIR`` (default ``/run/testbed``)::

    rigs/<rig>/journal.tsv     append-only: an "intent" line before each namespace is made,
                               a "created" line (with its inode) after; what down removes
    rigs/<rig>/state.json      the whole rig, written atomically once ``up`` has finished
    rigs/<rig>.lock            flock held by whichever command is changing the rig

The default lives on tmpfs, like /run/netns itself: a reboot clears both together, so the
state can never outlive the objects it describes. The journal is flushed (not fsynced) per
line for the same reason: only a crash of the kernel loses it, and that loses the
namespaces too.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..errors import RigConflict

DEFAULT_RUN_DIR = "/run/testbed"
JOURNAL = "journal.tsv"


def run_dir() -> Path:
    return Path(os.environ.get("TESTBED_RUN_DIR", DEFAULT_RUN_DIR))


def rigs_dir() -> Path:
    return run_dir() / "rigs"


def rig_dir(rig: str) -> Path:
    return rigs_dir() / rig


def known_rigs() -> list[str]:
    """Rigs with a journal or state in the run directory (up, or left by a crash)."""
    try:
        return sorted(p.name for p in rigs_dir().iterdir() if p.is_dir())
    except FileNotFoundError:
        return []


@contextmanager
def rig_lock(rig: str, wait: bool = False) -> Iterator[None]:
    """Hold the rig's lock; another command changing the same rig fails fast (or waits).

    The lock file is removed, still held, once the rig is gone; whoever was waiting on that file
    then finds it is no longer the one at the path and locks the new one instead.
    """
    rigs_dir().mkdir(parents=True, exist_ok=True)
    path = rigs_dir() / f"{rig}.lock"
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.close()
            raise RigConflict(f"rig {rig!r} is being changed by another testbed command; "
                              "try again when it ends") from None
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(handle.fileno()).st_ino:
            break
        handle.close()  # removed (or replaced) while we waited for it
    try:
        yield
    finally:
        if not rig_dir(rig).exists():
            path.unlink(missing_ok=True)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def drop_stale_locks(rig: str | None = None) -> None:
    """Remove the lock files of rigs that are gone (older versions left them behind)."""
    for path in rigs_dir().glob(f"{rig or '*'}.lock"):
        name = path.name.removesuffix(".lock")
        if not rig_dir(name).exists():
            try:
                with rig_lock(name):
                    pass
            except RigConflict:
                pass  # being changed right now: its holder removes it if the rig goes


@dataclass
class Journal:
    """Append-only record of namespaces as they are created."""

    rig: str
    handle: TextIO | None = None

    def open(self) -> Journal:
        rig_dir(self.rig).mkdir(parents=True, exist_ok=True)
        self.handle = open(rig_dir(self.rig) / JOURNAL, "a", encoding="utf-8")
        return self

    def write(self, op: str, *fields: object) -> None:
        """One tab-separated line (a format that parses fast at teardown), flushed at once."""
        assert self.handle is not None
        self.handle.write("\t".join([op, *map(str, fields)]) + "\n")
        self.handle.flush()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


@dataclass
class JournalRecord:
    """What a journal says was (possibly) created: namespace name -> inode (None if only intended)."""

    namespaces: dict[str, int | None] = field(default_factory=dict)
    run_id: str | None = None


def read_journal(rig: str) -> JournalRecord:
    record = JournalRecord()
    try:
        text = (rig_dir(rig) / JOURNAL).read_text(encoding="utf-8")
    except FileNotFoundError:
        return record
    for line in text.split("\n"):
        fields = line.split("\t")
        # A last line cut short by a crash fails these shape checks and is skipped; the
        # intent line before it still names the namespace.
        if fields[0] == "begin" and len(fields) >= 2:
            record.run_id = fields[1]
        elif fields[0] == "intent" and len(fields) == 2:
            record.namespaces.setdefault(fields[1], None)
        elif fields[0] == "created" and len(fields) == 3 and fields[2].isdigit():
            record.namespaces[fields[1]] = int(fields[2])
    return record


def write_state(rig: str, state: dict[str, Any]) -> None:
    """Atomically replace the rig's state file."""
    path = rig_dir(rig) / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_state(rig: str) -> dict[str, Any] | None:
    try:
        return json.loads((rig_dir(rig) / "state.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def forget_rig(rig: str) -> None:
    """Drop the rig's journal and state (the lock file goes when its holder lets go)."""
    shutil.rmtree(rig_dir(rig), ignore_errors=True)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
