"""Offline audit of a ledger data directory: recompute everything, trust nothing stored.

``python -m devices.edge.ledger verify DATADIR`` walks the log in order, a block at a time:

1. each entry is a signed record from an enrolled device whose Ed25519 signature verifies
   (enrolment file plus ``enrolment.db``, registry.py), with a sequence number above that
   device's previous one; a revoked device's entries must lie below its revocation point;
2. each stored hash (leaf and complete subtree, tree.py numbering) equals the hash
   recomputed from the entries;
3. each block follows its predecessor (height, previous block hash, a tree that grew), is
   signed by the node key (``node.vkey`` in the data directory, or ``--key``), its stored
   block hash is the hash of its signed header, and its root is the root recomputed from the
   entries at its tree size; the last block seals every entry;
4. the ``device_seq`` table agrees with the records, and every payload file's content hashes
   to its name.

The first bad item stops the audit with :class:`AuditFailure`, whose message names it (leaf
index, hash id, block height, field) and says expected vs got. Memory holds the frontier and
one sequence number per device, so the audit streams logs of any length.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.wire import PublicKey, SignedBlock, SignedRecord, leaf_hash, verify_link
from devices.wire.errors import BlockError, EnvelopeError, SignatureInvalid

from . import blocks
from .errors import LedgerError
from .payloads import is_payload_name
from .registry import Revocation
from .schema import FORMAT
from .tree import Frontier


class AuditFailure(LedgerError):
    """The data directory fails the audit; the message names the first bad item."""


@dataclass(frozen=True)
class AuditReport:
    entries: int
    hashes: int
    blocks: int
    devices: int
    payloads: int


def audit(db: Path, block_key: PublicKey, devices: Mapping[str, PublicKey],
          payloads: Path | None = None, revoked: Mapping[str, Revocation] | None = None) -> AuditReport:
    """Audit the ledger file ``db`` (and the payload directory); raise :class:`AuditFailure` on the first bad item."""
    if not db.is_file():
        raise AuditFailure(f"{db}: expected a ledger database file, found none")
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _Audit(conn, block_key, devices, revoked or {}).run(payloads)
    except sqlite3.DatabaseError as exc:
        raise AuditFailure(f"{db}: SQLite cannot read the file: {exc}") from None
    finally:
        conn.close()


class _Audit:
    def __init__(self, conn: sqlite3.Connection, block_key: PublicKey, devices: Mapping[str, PublicKey],
                 revoked: Mapping[str, Revocation]) -> None:
        self.conn, self.key, self.devices, self.revoked = conn, block_key, devices, revoked
        self.frontier = Frontier()
        self.seqs: dict[str, int] = {}
        self.hash_rows: Iterator[tuple[int, bytes]] = iter(conn.execute("SELECT id, hash FROM hashes ORDER BY id"))
        self.entry_rows: Iterator[tuple[int, bytes]] = iter(conn.execute("SELECT idx, data FROM entries ORDER BY idx"))
        self.next_id = 0

    def run(self, payloads: Path | None) -> AuditReport:
        check = self.conn.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise AuditFailure(f"SQLite quick_check: expected ok, got {check[:3]}")
        meta = dict(self.conn.execute("SELECT key, value FROM meta"))
        if meta.get("format") != FORMAT:
            raise AuditFailure(f"meta format: expected {FORMAT}, got {meta.get('format')!r}")
        if meta.get("block_key") != self.key.raw.hex():
            raise AuditFailure(f"meta block_key: expected {self.key.raw.hex()} (the node key given), "
                               f"got {meta.get('block_key')!r}")
        previous: SignedBlock | None = None
        for row in self.conn.execute(f"{blocks.SELECT} ORDER BY height"):
            previous = self._block(row, previous)
        for idx, _ in self.entry_rows:
            sealed = 0 if previous is None else previous.header.tree_size
            raise AuditFailure(f"leaf {idx}: expected every entry sealed in a block, the last block seals {sealed}")
        for hash_id, _ in self.hash_rows:
            raise AuditFailure(f"hash id {hash_id}: expected {self.next_id} hashes for {self.frontier.size} entries, "
                               "found more")
        stored = dict(self.conn.execute("SELECT device, seq FROM device_seq"))
        for device in sorted(stored.keys() | self.seqs.keys()):
            if stored.get(device) != self.seqs.get(device):
                raise AuditFailure(f"device_seq {device}: expected {self.seqs.get(device)} (its last record), "
                                   f"got {stored.get(device)}")
        held = _check_payloads(payloads) if payloads is not None else 0
        return AuditReport(self.frontier.size, self.next_id, 0 if previous is None else previous.header.height + 1,
                           len(self.seqs), held)

    def _block(self, row: blocks.Row, previous: SignedBlock | None) -> SignedBlock:
        height = row[0]
        try:
            block, stored_hash = blocks.from_row(row)
            verify_link(previous, block)
        except BlockError as exc:
            raise AuditFailure(f"block {height}: {exc}") from None
        size = block.header.tree_size
        while self.frontier.size < size:
            entry = next(self.entry_rows, None)
            if entry is None:
                raise AuditFailure(f"block {height} tree_size: expected at most {self.frontier.size} "
                                   f"(the entries present), got {size}")
            self._entry(*entry)
        try:
            block.verify(self.key)
        except BlockError as exc:
            raise AuditFailure(f"block {height} signature: {exc}") from None
        if block.hash() != stored_hash:
            raise AuditFailure(f"block {height} hash: expected {block.hash().hex()} (SHA-256 of the signed header), "
                               f"got {stored_hash.hex()}")
        root = self.frontier.root()
        if block.header.root != root:
            raise AuditFailure(f"block {height} root: expected {root.hex()} (recomputed at tree size {size}), "
                               f"got {block.header.root.hex()}")
        return block

    def _entry(self, idx: int, data: bytes) -> None:
        if idx != self.frontier.size:
            raise AuditFailure(f"leaf {self.frontier.size}: expected an entry, the next stored index is {idx}")
        try:
            record = SignedRecord.from_bytes(data)
        except EnvelopeError as exc:
            raise AuditFailure(f"leaf {idx} data: expected a signed record, got: {exc}") from None
        device, seq = record.envelope.device_id, record.envelope.seq
        key = self.devices.get(device)
        revocation = self.revoked.get(device)
        if revocation is not None:
            if idx >= revocation.tree_size:
                raise AuditFailure(f"leaf {idx} device_id: expected leaves of revoked device {device!r} below its "
                                   f"revocation point {revocation.tree_size}, got leaf {idx}")
            key = revocation.key
        if key is None:
            raise AuditFailure(f"leaf {idx} device_id: expected a device in the enrolment file, got {device!r}")
        try:
            record.verify(key)
        except SignatureInvalid as exc:
            raise AuditFailure(f"leaf {idx} device signature: {exc} (the entry's data changed)") from None
        last = self.seqs.get(device)
        if last is not None and seq <= last:
            raise AuditFailure(f"leaf {idx} seq: expected above {last} for device {device}, got {seq}")
        self.seqs[device] = seq
        self.frontier, created = self.frontier.extend([leaf_hash(data)])
        for level, value in enumerate(created):
            row = next(self.hash_rows, None)
            if row is None or row[0] != self.next_id:
                raise AuditFailure(f"hash id {self.next_id}: expected a stored hash, got "
                                   f"{'none' if row is None else f'id {row[0]} next'}")
            if row[1] != value:
                what = (f"leaf {idx} hash (id {self.next_id})" if level == 0 else
                        f"subtree hash id {self.next_id} (level {level}, leaves {idx + 1 - (1 << level)}..{idx})")
                raise AuditFailure(f"{what}: expected {value.hex()}, got {row[1].hex()}")
            self.next_id += 1


def _check_payloads(root: Path) -> int:
    count = 0
    for path in sorted(root.glob("??/*")):
        name = path.name
        if not is_payload_name(name) or path.parent.name != name[:2]:
            raise AuditFailure(f"payload file {path}: expected payloads/<2 hex>/<64 hex SHA-256>, got that path")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != name:
            raise AuditFailure(f"payload {name}: expected content with that SHA-256, got content hashing to {digest}")
        count += 1
    return count
