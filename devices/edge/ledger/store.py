"""The ledger's durable log: appends through group commit, reads and RFC 9162 proofs.

One :class:`LedgerStore` owns one SQLite file (schema.py). Appends go to a single writer
thread (commit.py) that hashes the leaves, extends the Merkle frontier, seals the batch into
a signed block (blocks.py), and writes entries, subtree hashes, device sequence numbers and
the block in one transaction, acknowledging only after COMMIT returns: a block exists iff
its entries do, and every acknowledgement names the block its leaf sealed in. Reads use a
small pool of read-only connections and only ever ask for what a COMMIT already made
durable, so they need no lock against the writer.

Memory holds the frontier (one hash per set bit of the size), the last block and one
sequence number per device, never anything per entry.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devices.wire import PrivateKey, SignedBlock, merkle

from . import blocks
from .commit import CommitStats, GroupCommitter
from .errors import OutOfRange, SequenceError, StoreCorrupt, StoreFailed
from .schema import open_reader, open_writer
from .tree import Frontier, consistency_ranges, inclusion_ranges, range_hashes, stored_count, stored_id, subtrees

MAX_ENTRIES_PER_READ = 1000


@dataclass(frozen=True)
class Append:
    """One leaf to append; with ``device`` set, ``seq`` must exceed that device's last one."""

    data: bytes
    device: str | None = None
    seq: int | None = None


@dataclass(frozen=True)
class Appended:
    """The acknowledgement: the leaf's index, the tree size and the block it was committed in."""

    index: int
    tree_size: int
    block: int


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


class LedgerStore:
    """An append-only Merkle log in SQLite. Thread-safe; close it (or use ``with``)."""

    def __init__(self, path: Path | str, block_key: PrivateKey, *, max_batch: int = 4096, linger: float = 0.0,
                 integrity_check: bool = True) -> None:
        self.path = Path(path)
        self._block_key = block_key
        self._writer = open_writer(self.path)
        try:
            if integrity_check:
                self._check_integrity()
            self._check_block_key()
            self._frontier = self._load_frontier()
            self._last_block = self._load_last_block()
            self._seqs: dict[str, int] = dict(self._writer.execute("SELECT device, seq FROM device_seq"))
        except BaseException:
            self._writer.close()
            raise
        self._failed = ""  # set, with the reason, once a COMMIT has failed
        self._readers: list[sqlite3.Connection] = []
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._committer: GroupCommitter[Append, Appended | SequenceError] = GroupCommitter(
            self._apply, max_batch=max_batch, linger=linger, name="ledger-writer")

    # -- appending ---------------------------------------------------------------------------

    def submit(self, items: Sequence[Append]) -> Future[list[Appended | SequenceError]]:
        """Queue items for one transaction; each outcome is an acknowledgement or the refusal."""
        for item in items:
            if not isinstance(item.data, bytes):
                raise TypeError(f"leaf data: expected bytes, got {type(item.data).__name__}")
            if (item.device is None) != (item.seq is None):
                raise ValueError("device and seq go together: give both or neither")
        return self._committer.submit(items)

    def append_many(self, items: Sequence[Append]) -> list[Appended | SequenceError]:
        """Append as one transaction and wait until it is durable."""
        return self.submit(items).result()

    def append(self, data: bytes, device: str | None = None, seq: int | None = None) -> Appended:
        """Append one leaf and wait until it is durable; raises :class:`SequenceError` on replay."""
        (outcome,) = self.append_many([Append(data, device, seq)])
        if isinstance(outcome, SequenceError):
            raise outcome
        return outcome

    def _apply(self, batch: list[Append]) -> list[Appended | SequenceError]:
        """Writer thread: one transaction for the whole batch; state changes only after COMMIT."""
        if self._failed:
            raise StoreFailed(self._failed)
        accepted: list[Append] = []
        outcomes: list[Appended | SequenceError | None] = []
        seqs: dict[str, int] = {}
        for item in batch:
            if item.device is not None:
                assert item.seq is not None
                last = seqs.get(item.device, self._seqs.get(item.device))
                if last is not None and item.seq <= last:
                    outcomes.append(SequenceError(f"device {item.device}: expected a sequence number above "
                                                  f"{last}, got {item.seq} (replayed or out of order)", last))
                    continue
                seqs[item.device] = item.seq
            accepted.append(item)
            outcomes.append(None)
        if not accepted:
            return [outcome for outcome in outcomes if outcome is not None]
        start = self._frontier.size
        frontier, created = self._frontier.extend(merkle.leaf_hash(item.data) for item in accepted)
        first_id = stored_count(start)
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO entries (idx, data) VALUES (?, ?)",
                             ((start + n, item.data) for n, item in enumerate(accepted)))
            conn.executemany("INSERT INTO hashes (id, hash) VALUES (?, ?)",
                             ((first_id + n, value) for n, value in enumerate(created)))
            conn.executemany("INSERT INTO device_seq (device, seq) VALUES (?, ?) "
                             "ON CONFLICT (device) DO UPDATE SET seq = excluded.seq", seqs.items())
            block = blocks.seal(self._block_key, self._last_block, frontier.size, frontier.root())
            conn.execute(blocks.INSERT, blocks.to_row(block))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException as exc:
            # Whether the batch reached the disk is now unknown (an fsync error, say), so this
            # process stops writing; a restart takes the log as the file has it.
            self._failed = (f"{self.path}: a COMMIT failed ({exc}); the store stopped accepting appends, "
                            "restart the node to continue from what the file holds")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreFailed(self._failed) from exc
        self._frontier = frontier  # published only now: readers never see uncommitted sizes
        self._last_block = block
        self._seqs.update(seqs)
        index = iter(range(start, frontier.size))
        height = block.header.height
        return [outcome if outcome is not None else Appended(next(index), frontier.size, height)
                for outcome in outcomes]

    # -- reading -----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Entries committed so far."""
        return self._frontier.size

    def head(self) -> TreeHead:
        """Size and root of the log as committed, read together."""
        frontier = self._frontier
        return TreeHead(frontier.size, frontier.root())

    def root(self, size: int | None = None) -> bytes:
        """The root at ``size`` (default: now); any past size can be asked for."""
        frontier = self._frontier
        if size is None or size == frontier.size:
            return frontier.root()
        self._check_size(size, frontier.size)
        if size == 0:
            return merkle.EMPTY_ROOT
        return range_hashes([(0, size)], self._read_hashes)[0]

    def last_seq(self, device: str) -> int | None:
        return self._seqs.get(device)

    @property
    def block_count(self) -> int:
        """Blocks committed so far (the next block's height)."""
        last = self._last_block
        return 0 if last is None else last.header.height + 1

    def block(self, height: int) -> SignedBlock:
        """The signed header of block ``height``, as committed."""
        count = self.block_count
        if isinstance(height, bool) or not isinstance(height, int) or not 0 <= height < count:
            raise OutOfRange(f"block height: expected 0..{count - 1} (the blocks committed), got {height!r}")
        with self._reader() as conn:
            row = conn.execute(f"{blocks.SELECT} WHERE height = ?", (height,)).fetchone()
        if row is None:
            raise StoreCorrupt(f"{self.path}: block {height} is committed but missing")
        return blocks.from_row(row)[0]

    def entries(self, start: int, end: int) -> list[bytes]:
        """Leaf data of [start, end); at most ``MAX_ENTRIES_PER_READ`` entries."""
        size = self.size
        if not 0 <= start < end <= size:
            raise OutOfRange(f"entries: expected 0 <= start < end <= {size} (the log size), got {start}..{end}")
        if end - start > MAX_ENTRIES_PER_READ:
            raise OutOfRange(f"entries: expected at most {MAX_ENTRIES_PER_READ} per read, got {end - start}")
        with self._reader() as conn:
            rows = conn.execute("SELECT idx, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                                (start, end)).fetchall()
        if [idx for idx, _ in rows] != list(range(start, end)):
            raise StoreCorrupt(f"{self.path}: entries {start}..{end} are committed but not all present")
        return [data for _, data in rows]

    def leaf_hash(self, index: int) -> bytes:
        self._check_index(index, self.size)
        return self._read_hashes([stored_id(0, index)])[stored_id(0, index)]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 audit path for leaf ``index`` in the tree of ``size`` (default: now)."""
        size = self.size if size is None else size
        self._check_size(size, self.size)
        self._check_index(index, size)
        return range_hashes(inclusion_ranges(index, size), self._read_hashes)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """RFC 9162 proof that the tree of ``first`` is a prefix of the tree of ``second``."""
        second = self.size if second is None else second
        self._check_size(second, self.size)
        if not 0 < first <= second:
            raise OutOfRange(f"consistency proof: expected 0 < first <= second, got first={first}, second={second}")
        return range_hashes(consistency_ranges(first, second), self._read_hashes)

    @property
    def commit_stats(self) -> CommitStats:
        return self._committer.stats

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Commit what is queued, stop the writer, close every connection."""
        self._committer.close()
        with self._pool_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._idle.clear()
        self._writer.close()

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = open_reader(self.path)
            with self._pool_lock:
                self._readers.append(conn)
        try:
            yield conn
        finally:
            with self._pool_lock:
                self._idle.append(conn)

    def _read_hashes(self, ids: list[int]) -> Mapping[int, bytes]:
        marks = ",".join("?" * len(ids))
        with self._reader() as conn:
            found = dict(conn.execute(f"SELECT id, hash FROM hashes WHERE id IN ({marks})", ids))
        if len(found) != len(set(ids)):
            missing = sorted(set(ids) - found.keys())[:5]
            raise StoreCorrupt(f"{self.path}: committed subtree hashes missing, ids {missing}")
        return found

    def _check_size(self, size: int, committed: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= committed:
            raise OutOfRange(f"tree size: expected 0..{committed} (the log as committed), got {size!r}")

    def _check_index(self, index: int, size: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise OutOfRange(f"leaf index: expected 0 <= index < {size}, got {index!r}")

    def _check_integrity(self) -> None:
        result = self._writer.execute("PRAGMA quick_check").fetchall()
        if result != [("ok",)]:
            raise StoreCorrupt(f"{self.path}: SQLite quick_check failed: {result[:5]}")

    def _check_block_key(self) -> None:
        """A store's blocks are signed with one key; refuse to continue a chain with another."""
        mine = self._block_key.public_key.raw.hex()
        self._writer.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('block_key', ?)", (mine,))
        found = self._writer.execute("SELECT value FROM meta WHERE key = 'block_key'").fetchone()[0]
        if found != mine:
            raise StoreCorrupt(f"{self.path}: blocks are signed with key {found}, this node's key is {mine}")

    def _load_last_block(self) -> SignedBlock | None:
        """The newest block; it must seal exactly the entries the file holds."""
        row = self._writer.execute(f"{blocks.SELECT} ORDER BY height DESC LIMIT 1").fetchone()
        sealed = 0 if row is None else row[2]
        if sealed != self._frontier.size:
            raise StoreCorrupt(f"{self.path}: the last block seals a log of {sealed} entries, the file has "
                               f"{self._frontier.size}")
        if row is None:
            return None
        block, stored_hash = blocks.from_row(row)
        if block.hash() != stored_hash or block.header.root != self._frontier.root():
            raise StoreCorrupt(f"{self.path}: block {block.header.height}: stored hash or root does not match "
                               "its header and the log; run verify")
        return block

    def _load_frontier(self) -> Frontier:
        """Rebuild the in-memory frontier from the file, checking the two tables agree."""
        conn = self._writer
        size = conn.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM entries").fetchone()[0]
        hashes = conn.execute("SELECT COALESCE(MAX(id), -1) + 1 FROM hashes").fetchone()[0]
        if hashes != stored_count(size):
            raise StoreCorrupt(f"{self.path}: {size} entries need {stored_count(size)} subtree hashes, "
                               f"the file has {hashes}")
        if size == 0:
            return Frontier()
        last = conn.execute("SELECT data FROM entries WHERE idx = ?", (size - 1,)).fetchone()[0]
        stored = conn.execute("SELECT hash FROM hashes WHERE id = ?", (stored_id(0, size - 1),)).fetchone()[0]
        if merkle.leaf_hash(last) != stored:
            raise StoreCorrupt(f"{self.path}: leaf {size - 1}: stored hash {stored.hex()} is not the hash of "
                               f"its entry ({merkle.leaf_hash(last).hex()})")
        nodes = subtrees(0, size)
        ids = [stored_id(*node) for node in nodes]
        found = dict(conn.execute(f"SELECT id, hash FROM hashes WHERE id IN ({','.join('?' * len(ids))})", ids))
        return Frontier(size, tuple(found[i] for i in ids))
