"""Durable enrolment state: devices enrolled and revoked over the admin API, in ``DATA/enrolment.db``.

The enrolment file (enrolment.py) stays the initial set; this file adds to it. A revocation
records the device's key and the *revocation point*, the log size by which every record of
the device admitted before the revocation is committed: leaves below it stay valid, and the
``verify`` command checks them against that key, while new records are refused. A device id
is enrolled once; re-enrolling it with another key, or after its revocation, is refused, so
a leaf's device id names one key for the life of the log.

Every change is its own transaction with ``synchronous=FULL``: the admin call is answered
only once the change survives a crash. Admin request signatures seen within the freshness
window are kept here too, so a replay is refused across a restart.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.wire import PublicKey

from .errors import LedgerError

_DDL = """
CREATE TABLE IF NOT EXISTS enrolled (
    device TEXT PRIMARY KEY, key BLOB NOT NULL CHECK (length(key) = 32), time_ns INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS revoked (
    device TEXT PRIMARY KEY, key BLOB NOT NULL CHECK (length(key) = 32),
    tree_size INTEGER NOT NULL, time_ns INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS admin_seen (signature BLOB PRIMARY KEY, time_ns INTEGER NOT NULL) STRICT;
CREATE TRIGGER IF NOT EXISTS revoked_keep_update BEFORE UPDATE ON revoked
BEGIN SELECT RAISE(ABORT, 'revocations cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS revoked_keep_delete BEFORE DELETE ON revoked
BEGIN SELECT RAISE(ABORT, 'revocations cannot be deleted'); END;
"""


class EnrolmentConflict(LedgerError):
    """The device id is already bound to another key, or was revoked; answered with 409."""


class UnknownDevice(LedgerError):
    """Revocation of a device that is not enrolled; answered with 404."""


@dataclass(frozen=True)
class Revocation:
    """A revoked device: its key, and the log size below which its records stay valid."""

    key: PublicKey
    tree_size: int
    time_ns: int


@dataclass(frozen=True)
class Enrolment:
    """Everything ``verify`` and admission need: the keys of live devices and the revocations."""

    active: Mapping[str, PublicKey]
    revoked: Mapping[str, Revocation]

    def key_for(self, device: str) -> PublicKey | None:
        """The key a leaf of ``device`` is checked against, live or revoked."""
        key = self.active.get(device)
        if key is None and device in self.revoked:
            key = self.revoked[device].key
        return key


class Registry:
    """The live enrolment: the file's devices plus the admin changes, persisted in SQLite."""

    def __init__(self, path: Path, initial: Mapping[str, PublicKey]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_DDL)
        self._lock = threading.Lock()
        state = read_state(self._conn, initial)
        self._active = dict(state.active)
        self._revoked = dict(state.revoked)
        self._revoking: set[str] = set()  # taken out of admission, revocation point not yet known

    def snapshot(self) -> Enrolment:
        with self._lock:
            return Enrolment(dict(self._active), dict(self._revoked))

    def key(self, device: str) -> PublicKey | None:
        """The key of a device that may write now (None: unknown or revoked)."""
        return self._active.get(device)

    def revocation(self, device: str) -> Revocation | None:
        return self._revoked.get(device)

    def is_revoked(self, device: str) -> bool:
        """Revoked, or being revoked (its records are refused as revoked from the start)."""
        return device in self._revoked or device in self._revoking

    def enrol(self, device: str, key: PublicKey, time_ns: int) -> bool:
        """Bind ``device`` to ``key`` durably; False when it already was (idempotent)."""
        with self._lock:
            if device in self._revoked or device in self._revoking:
                raise EnrolmentConflict(f"device {device}: expected a device id never revoked, it was revoked; "
                                        "enrol a new id")
            held = self._active.get(device)
            if held is not None:
                if held != key:
                    raise EnrolmentConflict(f"device {device}: expected key {held.raw.hex()[:16]}… (enrolled), "
                                            f"got {key.raw.hex()[:16]}…; revoke it and enrol a new id")
                return False
            self._conn.execute("INSERT INTO enrolled (device, key, time_ns) VALUES (?, ?, ?)",
                               (device, key.raw, time_ns))
            self._active[device] = key
            return True

    def begin_revoke(self, device: str) -> PublicKey | None:
        """Stop admitting ``device`` (in memory); its key, or None when it was already revoked."""
        with self._lock:
            if device in self._revoked:
                return None
            key = self._active.pop(device, None)
            if key is None:
                if device in self._revoking:
                    raise EnrolmentConflict(f"device {device}: a revocation is already in progress")
                raise UnknownDevice(f"device {device}: expected an enrolled device, none by that id")
            self._revoking.add(device)
            return key

    def finish_revoke(self, device: str, key: PublicKey, tree_size: int, time_ns: int) -> Revocation:
        """Persist the revocation once the log holds every record admitted before it."""
        with self._lock:
            self._conn.execute("INSERT INTO revoked (device, key, tree_size, time_ns) VALUES (?, ?, ?, ?)",
                               (device, key.raw, tree_size, time_ns))
            revocation = Revocation(key, tree_size, time_ns)
            self._revoked[device] = revocation
            self._revoking.discard(device)
            return revocation

    def seen(self, signature: bytes, time_ns: int, horizon_ns: int) -> bool:
        """Record an admin signature; True if it was already recorded (a replay). Prunes old ones."""
        with self._lock:
            self._conn.execute("DELETE FROM admin_seen WHERE time_ns < ?", (horizon_ns,))
            cursor = self._conn.execute("INSERT OR IGNORE INTO admin_seen (signature, time_ns) VALUES (?, ?)",
                                        (signature, time_ns))
            return cursor.rowcount == 0

    def close(self) -> None:
        self._conn.close()


def read_state(conn: sqlite3.Connection, initial: Mapping[str, PublicKey]) -> Enrolment:
    """The enrolment the file and the database describe together."""
    active = dict(initial)
    for device, raw, _ in conn.execute("SELECT device, key, time_ns FROM enrolled"):
        held = active.get(device)
        if held is not None and held.raw != raw:
            raise EnrolmentConflict(f"device {device}: the enrolment file gives key {held.raw.hex()[:16]}…, "
                                    f"the enrolment database {raw.hex()[:16]}…")
        active[device] = PublicKey(raw)
    revoked = {device: Revocation(PublicKey(raw), size, time_ns)
               for device, raw, size, time_ns in conn.execute("SELECT device, key, tree_size, time_ns FROM revoked")}
    for device in revoked:
        active.pop(device, None)
    return Enrolment(active, revoked)


def load_state(path: Path, initial: Mapping[str, PublicKey]) -> Enrolment:
    """Read-only view for ``verify``; with no database, the file's devices alone."""
    if not path.is_file():
        return Enrolment(dict(initial), {})
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return read_state(conn, initial)
    finally:
        conn.close()
