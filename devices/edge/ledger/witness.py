"""A C2SP tlog-witness: cosign a peer log's checkpoint only if it extends the last one cosigned.

Why each node witnesses its peers: a log can show different (forked) trees to different
readers; a reader that demands k-of-n witness cosignatures (devices.wire.cosignature) is safe
unless the log fools k witnesses at once (ledger.md §3.3). Request and answers follow
c2sp.org/tlog-witness as ledger.md §3.2 states them::

    POST /add-checkpoint      body: "old <size>\\n" + ≤ 63 base64 proof lines + "\\n" + signed checkpoint
    404 origin unknown · 403 log signature bad · 400 old size > checkpoint size or malformed
    409 old size ≠ recorded size (body "<recorded>\\n", text/x.tlog.size)
    422 consistency proof fails, or equal sizes with different roots
    200 the cosignature line(s), text/plain

Durability: the check and the new state are one ``BEGIN IMMEDIATE`` transaction on a SQLite
file in WAL with ``synchronous=FULL``, committed before the cosignature is made, so a crash
after any answer can never let the witness cosign a rollback or a fork of what it cosigned.
Evidence: when a validly signed checkpoint conflicts with the recorded one (same size,
different root; or a proof that fails between them), both notes are kept in ``evidence``,
once per pair (a replayed fork adds no row).
A same-size fork is a self-contained proof of log misbehaviour; a failed proof may also be
a sender's bad proof, so its kind says which it was.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devices.wire import Checkpoint, Ed25519Verifier, open_checkpoint, parse_note, verify_consistency
from devices.wire.cosignature import CosignatureSigner
from devices.wire.errors import NoteError, ProofError
from devices.wire.note import _strict_b64

from .errors import LedgerError, StoreCorrupt

MAX_PROOF_LINES = 63
MAX_REQUEST = 64 * 1024
SIZE_CONTENT_TYPE = "text/x.tlog.size"

_DDL = """
CREATE TABLE IF NOT EXISTS checkpoints (
    origin TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    root   BLOB NOT NULL,
    note   BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id      INTEGER PRIMARY KEY,
    origin  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    held    BLOB NOT NULL,
    offered BLOB NOT NULL,
    proof   TEXT NOT NULL,
    detail  TEXT NOT NULL,
    time    INTEGER NOT NULL,
    UNIQUE (origin, kind, held, offered)
);
"""


class WitnessRefusal(LedgerError):
    """An add-checkpoint request the witness will not cosign; ``status`` is the HTTP answer."""

    status = 400


class MalformedRequest(WitnessRefusal):
    """The body is not an add-checkpoint request, or its old size exceeds the checkpoint's size."""


class UnknownLog(WitnessRefusal):
    """The checkpoint's origin is not a log this witness is configured for."""

    status = 404


class LogSignatureInvalid(WitnessRefusal):
    """The checkpoint carries no valid signature by the configured log key."""

    status = 403


class SizeConflict(WitnessRefusal):
    """The request's old size is not the size the witness recorded; ``size`` is the recorded one."""

    status = 409

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class Inconsistent(WitnessRefusal):
    """The checkpoint does not extend the recorded one: failed proof, or same size and another root."""

    status = 422


@dataclass(frozen=True)
class WitnessedLog:
    """A log the witness follows: its origin and its checkpoint key."""

    origin: str
    verifier: Ed25519Verifier


@dataclass(frozen=True)
class Evidence:
    """Two checkpoints signed by one log that cannot both be true (or a proof that failed between them)."""

    origin: str
    kind: str  # "fork": same size, different roots; "proof": consistency proof did not verify
    held: bytes  # the signed note the witness had cosigned
    offered: bytes  # the signed note that conflicts with it
    proof: tuple[str, ...]
    detail: str
    time: int


def load_witness_config(path: Path) -> tuple[WitnessedLog, ...]:
    """``{"logs": [{"origin": "...", "vkey": "<name>+<id>+<key>"}, ...]}`` → the logs to witness."""
    try:
        document = json.loads(path.read_text())
        logs = tuple(WitnessedLog(item.get("origin", item["vkey"].split("+")[0]),
                                  Ed25519Verifier.from_vkey(item["vkey"])) for item in document["logs"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LedgerError(f'{path}: expected {{"logs": [{{"origin", "vkey"}}, ...]}}, got an error: {exc}') from None
    if len({log.origin for log in logs}) != len(logs):
        raise LedgerError(f"{path}: expected each origin once, got {[log.origin for log in logs]}")
    return logs


class Witness:
    """Checks and cosigns add-checkpoint requests; state and evidence live in one SQLite file."""

    def __init__(self, path: Path, signer: CosignatureSigner, logs: Sequence[WitnessedLog]) -> None:
        self.signer = signer
        self.logs = {log.origin: log for log in logs}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreCorrupt(f"{path}: expected journal_mode wal, SQLite gave {mode!r}")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_DDL)
        self._lock = threading.Lock()  # one check-and-persist at a time: no rollback race

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def add_checkpoint(self, body: bytes) -> bytes:
        """Answer one request: the cosignature line(s), or raise the refusal with its status."""
        old, proof, lines, note_bytes = _parse_request(body)
        try:
            note = parse_note(note_bytes)
            origin = note.text.split("\n", 1)[0]
        except NoteError as exc:
            raise MalformedRequest(f"checkpoint: {exc}") from None
        log = self.logs.get(origin)
        if log is None:
            raise UnknownLog(f"origin {origin!r}: expected one of {sorted(self.logs)}")
        try:
            checkpoint, _, _ = open_checkpoint(note_bytes, log.verifier, origin=log.origin)
        except NoteError as exc:
            raise LogSignatureInvalid(f"checkpoint for {origin}: {exc}") from None
        if old > checkpoint.tree_size:
            raise MalformedRequest(f"old size {old}: expected at most the checkpoint's size {checkpoint.tree_size}")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._check_and_record(checkpoint, note_bytes, old, proof, lines)
            except WitnessRefusal:
                self._conn.execute("COMMIT")  # keeps any evidence recorded; the state row is unchanged
                raise
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")  # durable (synchronous=FULL) before anything is signed
        cosignature = self.signer.cosign(note.text, int(time.time()))
        return cosignature.line().encode()

    def latest(self, origin: str) -> tuple[Checkpoint, bytes] | None:
        """The checkpoint last cosigned for ``origin`` and its signed note, if any."""
        with self._lock:
            row = self._conn.execute("SELECT note FROM checkpoints WHERE origin = ?", (origin,)).fetchone()
        if row is None:
            return None
        return Checkpoint.from_text(parse_note(row[0]).text), bytes(row[0])

    def evidence(self, origin: str | None = None) -> list[Evidence]:
        """Stored proofs of misbehaviour, oldest first."""
        return read_evidence(self._conn, origin, self._lock)

    def _check_and_record(self, checkpoint: Checkpoint, note: bytes, old: int, proof: list[bytes],
                          lines: tuple[str, ...]) -> None:
        row = self._conn.execute("SELECT size, root, note FROM checkpoints WHERE origin = ?",
                                 (checkpoint.origin,)).fetchone()
        size, root, held = (0, b"", b"") if row is None else (row[0], bytes(row[1]), bytes(row[2]))
        if row is not None and checkpoint.tree_size == size and checkpoint.root_hash != root:
            detail = f"size {size}: held root {root.hex()}, offered root {checkpoint.root_hash.hex()}"
            self._record(checkpoint.origin, "fork", held, note, lines, detail)
            if old == size:
                raise Inconsistent(f"checkpoint {checkpoint.origin}@{size}: expected root {root.hex()} "
                                   f"(cosigned before), got {checkpoint.root_hash.hex()}; evidence stored")
        if old != size:
            raise SizeConflict(f"old size: expected {size} (the size this witness recorded), got {old}", size)
        if old == 0:
            if proof:
                raise MalformedRequest(f"proof from size 0: expected no lines, got {len(proof)}")
        else:
            try:
                verify_consistency(old, checkpoint.tree_size, root, checkpoint.root_hash, proof)
            except ProofError as exc:
                self._record(checkpoint.origin, "proof", held, note, lines, str(exc))
                raise Inconsistent(f"checkpoint {checkpoint.origin}@{checkpoint.tree_size}: consistency "
                                   f"with {old}: {exc}") from None
        if row is not None and checkpoint.tree_size == size:
            return  # the same checkpoint again: cosign again, nothing to store
        self._conn.execute("INSERT OR REPLACE INTO checkpoints (origin, size, root, note) VALUES (?, ?, ?, ?)",
                           (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, note))

    def _record(self, origin: str, kind: str, held: bytes, offered: bytes, lines: tuple[str, ...],
                detail: str) -> None:
        self._conn.execute("INSERT OR IGNORE INTO evidence (origin, kind, held, offered, proof, detail, time) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (origin, kind, held, offered, "\n".join(lines), detail, int(time.time())))


def read_evidence(conn: sqlite3.Connection, origin: str | None = None,
                  lock: threading.Lock | None = None) -> list[Evidence]:
    """Evidence rows from a witness database connection (a read-only one works: an auditor's)."""
    sql = "SELECT origin, kind, held, offered, proof, detail, time FROM evidence"
    args: tuple[str, ...] = ()
    if origin is not None:
        sql, args = sql + " WHERE origin = ?", (origin,)
    if lock is None:
        rows = conn.execute(sql + " ORDER BY id", args).fetchall()
    else:
        with lock:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
    return [Evidence(o, k, bytes(h), bytes(f), tuple(p.split("\n")) if p else (), d, t)
            for o, k, h, f, p, d, t in rows]


def _parse_request(body: bytes) -> tuple[int, list[bytes], tuple[str, ...], bytes]:
    """``old N``, proof lines, blank line, note → (old size, proof hashes, proof lines, note bytes)."""
    if len(body) > MAX_REQUEST:
        raise MalformedRequest(f"request: expected at most {MAX_REQUEST} bytes, got {len(body)}")
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise MalformedRequest("request: expected 'old <size>', proof lines, a blank line, then the checkpoint")
    try:
        first, *lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise MalformedRequest("request: expected ASCII before the checkpoint") from None
    word, _, number = first.partition(" ")
    if word != "old" or not number.isdigit() or (number != "0" and number.startswith("0")) or len(number) > 19:
        raise MalformedRequest(f"request: expected a first line 'old <size>' (decimal), got {first[:40]!r}")
    if len(lines) > MAX_PROOF_LINES:
        raise MalformedRequest(f"proof: expected at most {MAX_PROOF_LINES} lines, got {len(lines)}")
    try:
        proof = [_strict_b64(line, f"proof line {n}") for n, line in enumerate(lines, 1)]
    except NoteError as exc:
        raise MalformedRequest(str(exc)) from None
    return int(number), proof, tuple(lines), note
