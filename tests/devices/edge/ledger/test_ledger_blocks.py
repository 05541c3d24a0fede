"""Blocks in the store: one signed, hash-chained block per committed batch, in its transaction."""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path

import pytest

from devices.edge.ledger import Append, LedgerStore, OutOfRange, StoreCorrupt
from devices.wire import PrivateKey, SignedBlock, verify_link

KEY = PrivateKey(b"\x42" * 32)


def _chain(store: LedgerStore) -> list[SignedBlock]:
    return [store.block(height) for height in range(store.block_count)]


def test_each_batch_seals_one_block_that_commits_to_the_tree(tmp_path: Path) -> None:
    rng = random.Random(5)
    with LedgerStore(tmp_path / "ledger.db", KEY) as store:
        assert store.block_count == 0
        sizes = []
        for _ in range(20):
            acks = store.append_many([Append(rng.randbytes(8)) for _ in range(rng.randrange(1, 6))])
            assert {ack.block for ack in acks} == {store.block_count - 1}
            sizes.append(store.size)
        chain = _chain(store)
        assert [block.header.tree_size for block in chain] == sizes
        previous = None
        for block in chain:
            verify_link(previous, block)
            block.verify(KEY.public_key)
            assert block.header.root == store.root(block.header.tree_size)
            previous = block
        with pytest.raises(OutOfRange, match="block height: expected 0..19"):
            store.block(20)
    with LedgerStore(tmp_path / "ledger.db", KEY) as store:  # the chain continues after a restart
        ack = store.append(b"after restart")
        assert ack.block == 20
        verify_link(chain[-1], store.block(20))


def test_concurrent_appenders_share_blocks_and_every_leaf_names_its_block(tmp_path: Path) -> None:
    with LedgerStore(tmp_path / "ledger.db", KEY) as store:
        acks = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            for i in range(50):
                ack = store.append(b"%d-%d" % (n, i))
                with lock:
                    acks.append(ack)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        chain = _chain(store)
        assert chain[-1].header.tree_size == store.size == 400
        assert store.block_count == store.commit_stats.commits
        for ack in acks:
            block = chain[ack.block].header
            before = chain[ack.block - 1].header.tree_size if ack.block else 0
            assert before <= ack.index < block.tree_size == ack.tree_size


def test_a_refused_batch_seals_no_block(tmp_path: Path) -> None:
    with LedgerStore(tmp_path / "ledger.db", KEY) as store:
        store.append(b"a", device="pump", seq=3)
        outcomes = store.append_many([Append(b"b", device="pump", seq=3)])
        assert outcomes[0].last_seq == 3  # type: ignore[union-attr]
        assert (store.size, store.block_count) == (1, 1)


@pytest.mark.parametrize("statement", [
    "UPDATE blocks SET tree_size = 99 WHERE height = 0",
    "DELETE FROM blocks WHERE height = 1",
    "INSERT INTO blocks SELECT height + 5, previous, tree_size, root, time_ns, signature, hash FROM blocks "
    "WHERE height = 0",
])
def test_blocks_are_append_only_in_the_file(tmp_path: Path, statement: str) -> None:
    with LedgerStore(tmp_path / "ledger.db", KEY) as store:
        store.append(b"x")
        store.append(b"y")
    conn = sqlite3.connect(tmp_path / "ledger.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only: blocks"):
        conn.execute(statement)
    conn.close()


def test_an_unsealed_tail_and_another_key_are_refused_on_open(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with LedgerStore(db, KEY) as store:
        store.append(b"x")
        store.append(b"y")
    with pytest.raises(StoreCorrupt, match="blocks are signed with key .*, this node's key is"):
        LedgerStore(db, PrivateKey(b"\x43" * 32))
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER blocks_append_only_delete")
    conn.execute("DELETE FROM blocks WHERE height = 1")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt, match="the last block seals a log of 1 entries, the file has 2"):
        LedgerStore(db, KEY)
