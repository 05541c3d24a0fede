"""Durability under kill -9: a real child process appends from several threads and prints each
acknowledgement; the parent SIGKILLs it mid-stream and checks that every acknowledged leaf is
in the reopened log, the file is intact and the tree still proves. Twice over the same file,
so recovery from a recovered log is exercised too."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from devices.edge.ledger import LedgerStore
from devices.wire import PrivateKey, merkle, verify_link

REPO = Path(__file__).resolve().parents[4]
KEY = PrivateKey(b"\x42" * 32)  # the child's block key

CHILD = """
import sys, threading
from devices.edge.ledger import LedgerStore
from devices.wire import PrivateKey

store = LedgerStore(sys.argv[1], PrivateKey(b"\x42" * 32))
lock = threading.Lock()

def appender(thread):
    seq = (store.last_seq(f"dev{thread}") or 0) + 1
    while True:
        data = f"{sys.argv[2]}-t{thread}-{seq}"
        ack = store.append(data.encode(), device=f"dev{thread}", seq=seq)
        with lock:  # printed only after the append returned, i.e. after COMMIT
            sys.stdout.write(f"{ack.index} {data} {seq}\\n")
            sys.stdout.flush()
        seq += 1

for thread in range(4):
    threading.Thread(target=appender, args=(thread,), daemon=True).start()
threading.Event().wait()
"""


def _run_and_kill(db: Path, run: str, want_acks: int) -> list[tuple[int, str, int]]:
    """Start the child, read acknowledgements until ``want_acks``, SIGKILL it, read what is left."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), run], cwd=REPO, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.stdout is not None
    lines: list[bytes] = []
    buffer = b""
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 20
    try:
        while len(lines) < want_acks and time.monotonic() < deadline:
            if selector.select(timeout=1):
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                lines += complete
    finally:
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()  # acknowledged before the kill, still in the pipe
        child.wait()
    assert child.returncode == -signal.SIGKILL, f"child ended by itself ({child.returncode})"
    lines += (buffer + rest).split(b"\n")[:-1]  # a partial last line was never a full ack
    assert len(lines) >= want_acks, f"child acknowledged only {len(lines)} appends in 20 s"
    acks = []
    for line in lines:
        index, data, seq = line.decode().split()
        acks.append((int(index), data, int(seq)))
    return acks


def test_every_acknowledged_append_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    acknowledged: list[tuple[int, str, int]] = []
    for run in ("run1", "run2"):
        acknowledged += _run_and_kill(db, run, want_acks=1000)

        check = sqlite3.connect(db)
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        check.close()
        with LedgerStore(db, KEY) as store:
            assert store.size >= max(index for index, _, _ in acknowledged) + 1
            entries = store.entries(0, min(store.size, 1000))
            while len(entries) < store.size:
                entries += store.entries(len(entries), min(store.size, len(entries) + 1000))
            for index, data, _ in acknowledged:
                assert entries[index] == data.encode(), f"acknowledged leaf {index} lost or changed"
            leaves = [merkle.leaf_hash(entry) for entry in entries]
            assert store.root() == merkle.root_from_leaf_hashes(leaves)
            last = store.size - 1
            merkle.verify_inclusion(leaves[last], last, store.size, store.inclusion_proof(last), store.root())
            for thread in range(4):
                seqs = [seq for _, data, seq in acknowledged if f"-t{thread}-" in data]
                assert (store.last_seq(f"dev{thread}") or 0) >= max(seqs)
            previous = None  # every batch that survived has its block, and the chain holds
            for height in range(store.block_count):
                block = store.block(height)
                verify_link(previous, block)
                block.verify(KEY.public_key)
                previous = block
            assert previous is not None and previous.header.tree_size == store.size
            assert previous.header.root == store.root()
    assert len({index for index, _, _ in acknowledged}) == len(acknowledged)
