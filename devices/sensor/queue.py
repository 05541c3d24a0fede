"""The durable FIFO of signed records not yet acknowledged by the ledger (SQLite, WAL, FULL sync).

The sequence number is assigned in the same transaction that stores the record, so a restart
continues the sequence from the disk rather than from memory, and a record leaves the queue
only when the ledger has acknowledged it. A crash between the ledger's commit and our delete
resends the record; the ledger's per-device sequence check refuses the copy, which is how the
uploader learns it was already held (see uploader.py). ``synchronous=FULL`` makes every
enqueue and acknowledgement durable at COMMIT, at the cost of an fsync each.

The ciphertexts wait here too (table ``payloads``) until their record is acknowledged; the
uploader puts each into the edge's payload store before posting the envelope that names it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import QueueCorrupt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) STRICT;
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY, frame INTEGER NOT NULL, capture_ns INTEGER NOT NULL,
    late_ns INTEGER NOT NULL, enqueued_ns INTEGER NOT NULL, wire BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS payloads (
    seq INTEGER PRIMARY KEY, digest BLOB NOT NULL, ciphertext BLOB NOT NULL) STRICT;
"""


@dataclass(frozen=True)
class QueuedRecord:
    """A signed record waiting for its ack, with the timing the stats report for it."""

    seq: int
    frame: int
    capture_ns: int  # wall clock, ns since the epoch (the envelope's created_ns)
    late_ns: int  # how late the frame fired against its schedule
    enqueued_ns: int  # wall clock when it became durable here
    wire: bytes  # SignedRecord.to_bytes()


@dataclass(frozen=True)
class Built:
    """What :meth:`DurableQueue.enqueue` stores for a sequence number."""

    wire: bytes
    digest: bytes
    ciphertext: bytes


class DurableQueue:
    """One device's queue in one SQLite file; open one instance per thread."""

    def __init__(self, path: Path, device_id: str) -> None:
        self.path, self.device_id = path, device_id
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=True)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        with self._transaction():
            owner = self._meta("device_id")
            if owner is None:
                self._db.executemany("INSERT INTO meta VALUES (?, ?)",
                                     [("device_id", device_id), ("next_seq", 1), ("next_frame", 0)])
            elif owner != device_id:
                raise QueueCorrupt(f"{path}: expected the queue of device {device_id!r}, got {owner!r}'s")

    def _meta(self, key: str) -> object:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _counter(self, key: str) -> int:
        """A counter the queue's creation seeded, so it is always there."""
        value = self._meta(key)
        assert isinstance(value, int), (key, value)
        return value

    def _transaction(self) -> _Immediate:
        return _Immediate(self._db)

    @property
    def next_seq(self) -> int:
        return self._counter("next_seq")

    @property
    def next_frame(self) -> int:
        """The frame index after the last one enqueued: where a restarted agent resumes."""
        return self._counter("next_frame")

    def enqueue(self, frame: int, capture_ns: int, late_ns: int, build: Callable[[int], Built]) -> QueuedRecord:
        """Assign the next sequence number, let ``build`` sign the record for it, store both durably."""
        with self._transaction():
            seq = self.next_seq
            if frame < self.next_frame:
                raise QueueCorrupt(f"{self.path}: expected frame >= {self.next_frame}, got {frame} (frames go back)")
            built = build(seq)
            record = QueuedRecord(seq, frame, capture_ns, late_ns, time.time_ns(), built.wire)
            self._db.execute("INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?)",
                             (seq, frame, capture_ns, late_ns, record.enqueued_ns, built.wire))
            self._db.execute("INSERT INTO payloads VALUES (?, ?, ?)", (seq, built.digest, built.ciphertext))
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_frame'", (frame + 1,))
        return record

    def oldest(self, limit: int) -> list[QueuedRecord]:
        rows = self._db.execute("SELECT seq, frame, capture_ns, late_ns, enqueued_ns, wire FROM pending "
                                "ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [QueuedRecord(*row) for row in rows]

    def acknowledge(self, seqs: Iterable[int]) -> None:
        """Drop acknowledged records; only ever called with seqs the ledger holds."""
        rows = [(s,) for s in seqs]
        with self._transaction():
            self._db.executemany("DELETE FROM pending WHERE seq = ?", rows)
            self._db.executemany("DELETE FROM payloads WHERE seq = ?", rows)  # the edge's store holds it now

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def payload(self, seq: int) -> bytes | None:
        row = self._db.execute("SELECT ciphertext FROM payloads WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        self._db.close()


class _Immediate:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on an exception) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")
