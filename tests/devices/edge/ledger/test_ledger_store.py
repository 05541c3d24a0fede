"""The SQLite ledger store: proofs for real trees, append-only rules, replay, group commit."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from devices.edge.ledger import (
    Append,
    Appended,
    LedgerStore,
    OutOfRange,
    SequenceError,
    StoreClosed,
    StoreCorrupt,
    StoreFailed,
)
from devices.wire import PrivateKey, merkle

KEY = PrivateKey(b"\x42" * 32)  # signs the blocks


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


def _fill(store: LedgerStore, count: int, rng: random.Random) -> list[bytes]:
    """Append ``count`` random leaves in random-sized transactions; return them in order."""
    data: list[bytes] = []
    base = store.size
    while len(data) < count:
        batch = [rng.randbytes(rng.randrange(0, 40)) for _ in range(min(rng.randrange(1, 9), count - len(data)))]
        acks = store.append_many([Append(item) for item in batch])
        first = base + len(data)
        block = store.block_count - 1  # one block per transaction
        assert acks == [Appended(i, first + len(batch), block) for i in range(first, first + len(batch))]
        data += batch
    return data


# Sizes 0..3, powers of two and their neighbours: every past size of one 130-leaf log.
SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 130]


def test_proofs_for_random_trees_match_the_rfc_and_verify(db: Path, rfc: SimpleNamespace) -> None:
    rng = random.Random(9162)
    with LedgerStore(db, KEY) as store:
        data = _fill(store, 130, rng)
        leaves = [rfc.leaf(item) for item in data]
        for size in SIZES:
            root = rfc.mth(leaves[:size])
            assert store.root(size) == root
            for index in range(size):
                proof = store.inclusion_proof(index, size)
                assert proof == rfc.path(index, leaves[:size])
                merkle.verify_inclusion(leaves[index], index, size, proof, root)
            for first in range(1, size + 1):
                proof = store.consistency_proof(first, size)
                assert proof == rfc.proof(first, leaves[:size])
                merkle.verify_consistency(first, size, store.root(first), root, proof)
        assert store.head().root == rfc.mth(leaves) and store.head().size == 130
        assert store.entries(0, 130) == data
        assert [store.leaf_hash(i) for i in range(130)] == leaves


def test_the_log_survives_reopening_and_keeps_growing(db: Path, rfc: SimpleNamespace) -> None:
    rng = random.Random(1)
    with LedgerStore(db, KEY) as store:
        data = _fill(store, 37, rng)
        old_root = store.root()
    with LedgerStore(db, KEY) as store:
        assert (store.size, store.root()) == (37, old_root)
        data += _fill(store, 30, rng)
        leaves = [rfc.leaf(item) for item in data]
        assert store.root() == rfc.mth(leaves)
        merkle.verify_consistency(37, 67, old_root, store.root(), store.consistency_proof(37))


def test_empty_store(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        assert store.size == 0 and store.root() == merkle.EMPTY_ROOT
        with pytest.raises(OutOfRange, match="0 <= index < 0"):
            store.inclusion_proof(0)
        with pytest.raises(OutOfRange, match="0 < first <= second"):
            store.consistency_proof(0, 0)


def test_requests_beyond_the_committed_log_are_refused(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        for i in range(5):
            store.append(b"%d" % i)
        with pytest.raises(OutOfRange, match=r"expected 0..5 \(the log as committed\), got 6"):
            store.inclusion_proof(0, 6)
        with pytest.raises(OutOfRange, match="got 5"):
            store.inclusion_proof(5)
        with pytest.raises(OutOfRange, match="got first=4, second=3"):
            store.consistency_proof(4, 3)
        with pytest.raises(OutOfRange, match="got 3..6"):
            store.entries(3, 6)
        with pytest.raises(OutOfRange, match="got 6"):
            store.root(6)


@pytest.mark.parametrize("statement", [
    "UPDATE entries SET data = x'00' WHERE idx = 1",
    "DELETE FROM entries WHERE idx = 2",
    "DELETE FROM entries",
    "INSERT OR REPLACE INTO entries (idx, data) VALUES (0, x'00')",
    "INSERT INTO entries (idx, data) VALUES (10, x'00')",
    "UPDATE hashes SET hash = zeroblob(32) WHERE id = 0",
    "DELETE FROM hashes WHERE id = 0",
    "INSERT OR REPLACE INTO hashes (id, hash) VALUES (0, zeroblob(32))",
    "INSERT INTO hashes (id, hash) VALUES (100, zeroblob(32))",
    "UPDATE device_seq SET seq = 1 WHERE device = 'dev'",
    "DELETE FROM device_seq",
])
def test_sqlite_itself_refuses_to_rewrite_history(db: Path, statement: str) -> None:
    with LedgerStore(db, KEY) as store:
        for i in range(4):
            store.append(b"%d" % i, device="dev", seq=i + 5)
        root = store.root()
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only|only move forward|cannot be deleted"):
        conn.execute(statement)
    conn.close()
    with LedgerStore(db, KEY) as store:
        assert store.size == 4 and store.root() == root


def test_a_rewritten_last_entry_is_caught_on_open(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        for i in range(6):
            store.append(b"%d" % i)
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER entries_append_only_update")  # someone with write access to the file
    conn.execute("UPDATE entries SET data = x'ff' WHERE idx = 5")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt, match="leaf 5: stored hash"):
        LedgerStore(db, KEY)


def test_missing_subtree_hashes_are_caught_on_open(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        for i in range(6):
            store.append(b"%d" % i)
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER hashes_append_only_delete")
    conn.execute("DELETE FROM hashes WHERE id = (SELECT MAX(id) FROM hashes)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt, match="6 entries need 10 subtree hashes, the file has 9"):
        LedgerStore(db, KEY)


def test_sequence_numbers_must_increase_per_device_also_after_restart(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        assert store.append(b"a", device="pump-1", seq=1).index == 0
        assert store.append(b"b", device="pump-2", seq=1).index == 1
        with pytest.raises(SequenceError, match="pump-1: expected a sequence number above 1, got 1"):
            store.append(b"a again", device="pump-1", seq=1)
        outcomes = store.append_many([Append(b"c", "pump-1", 5), Append(b"d", "pump-1", 4), Append(b"e", "pump-1", 6)])
        assert isinstance(outcomes[1], SequenceError)
        assert [o.index for o in outcomes if isinstance(o, Appended)] == [2, 3]
        assert store.size == 4
    with LedgerStore(db, KEY) as store:
        assert store.last_seq("pump-1") == 6
        with pytest.raises(SequenceError, match="above 6, got 6"):
            store.append(b"replayed", device="pump-1", seq=6)
        assert store.append(b"f", device="pump-1", seq=7).index == 4


def test_concurrent_appenders_are_all_acknowledged_in_order_and_batched(db: Path) -> None:
    threads_count, per_thread = 8, 60
    acks: dict[int, list[int]] = {}
    with LedgerStore(db, KEY) as store:
        start = threading.Barrier(threads_count)

        def appender(thread: int) -> None:
            start.wait()
            acks[thread] = [store.append(b"t%d-%d" % (thread, i), device=f"dev{thread}", seq=i + 1).index
                            for i in range(per_thread)]

        workers = [threading.Thread(target=appender, args=(t,)) for t in range(threads_count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        total = threads_count * per_thread
        assert sorted(i for indexes in acks.values() for i in indexes) == list(range(total))
        for thread, indexes in acks.items():
            assert indexes == sorted(indexes), f"thread {thread}: acknowledged out of order"
            assert store.entries(indexes[0], indexes[0] + 1) == [b"t%d-0" % thread]
            assert [store.entries(i, i + 1)[0] for i in indexes] == [b"t%d-%d" % (thread, n) for n in range(per_thread)]
        stats = store.commit_stats
        assert stats.items == total
        assert stats.commits < total, "appends arriving together should share transactions"


def test_queued_submissions_share_transactions_and_keep_submission_order(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        futures = [store.submit([Append(b"%d" % i)]) for i in range(500)]
        outcomes = [future.result()[0] for future in futures]
        assert all(isinstance(outcome, Appended) for outcome in outcomes)
        indexes = [outcome.index for outcome in outcomes if isinstance(outcome, Appended)]
        assert indexes == list(range(500))
        assert store.commit_stats.commits < 100
        assert store.entries(0, 500) == [b"%d" % i for i in range(500)]


def test_nothing_is_acknowledged_when_the_commit_fails(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        for i in range(3):
            store.append(b"%d" % i)
        root = store.root()
        intruder = sqlite3.connect(db)
        intruder.execute("DROP TRIGGER entries_append_at_end")
        intruder.execute("INSERT INTO entries (idx, data) VALUES (3, x'00')")  # steals the next index
        intruder.commit()
        with pytest.raises(sqlite3.IntegrityError):
            store.append(b"never acknowledged")
        assert store.size == 3 and store.root() == root
        assert store.commit_stats.failed_commits == 1
        intruder.close()


def test_a_closed_store_accepts_nothing(db: Path) -> None:
    store = LedgerStore(db, KEY)
    store.append(b"x")
    store.close()
    with pytest.raises(StoreClosed):
        store.append(b"y")


def test_the_file_is_wal_with_full_sync(db: Path) -> None:
    with LedgerStore(db, KEY) as store:
        store.append(b"x")
        assert store._writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real filesystem that fills up, so a COMMIT itself fails (ENOSPC)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a 1 MiB tmpfs")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_failed_commit_stops_the_store_and_loses_nothing_acknowledged(tiny_disk: Path) -> None:
    acknowledged: dict[int, bytes] = {}
    rng = random.Random(5)
    store = LedgerStore(tiny_disk / "ledger.db", KEY)
    with pytest.raises(StoreFailed, match="a COMMIT failed .database or disk is full.; .* restart the node"):
        for _ in range(10_000):
            data = rng.randbytes(2000)
            acknowledged[store.append(data).index] = data
    assert len(acknowledged) > 10
    with pytest.raises(StoreFailed):  # fail-stop: nothing more until a restart
        store.append(b"after the failure")
    store.close()
    with LedgerStore(tiny_disk / "ledger.db", KEY) as reopened:
        assert reopened.size >= len(acknowledged)
        assert {i: reopened.entries(i, i + 1)[0] for i in acknowledged} == acknowledged
