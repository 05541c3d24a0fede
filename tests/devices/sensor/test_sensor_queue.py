"""The durable queue: sequence numbers survive restarts and kill -9, records leave only when acked."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.sensor.errors import QueueCorrupt
from devices.sensor.queue import Built, DurableQueue

REPO = Path(__file__).resolve().parents[3]


def built(seq: int) -> Built:
    ciphertext = b"ciphertext %d" % seq
    return Built(b"wire %d" % seq, hashlib.sha256(ciphertext).digest(), ciphertext)


def test_sequence_continues_across_reopen_and_acks_remove(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    queue = DurableQueue(path, "monitor-1")
    assert (queue.next_seq, queue.next_frame, len(queue)) == (1, 0, 0)
    records = [queue.enqueue(k, 1000 + k, 0, built) for k in range(3)]
    assert [r.seq for r in records] == [1, 2, 3] and records[2].wire == b"wire 3"
    queue.acknowledge([1])
    queue.close()

    again = DurableQueue(path, "monitor-1")
    assert (again.next_seq, again.next_frame, len(again)) == (4, 3, 2)
    assert [r.seq for r in again.oldest(10)] == [2, 3]
    assert again.enqueue(3, 2000, 5, built).seq == 4
    assert [r.seq for r in again.oldest(2)] == [2, 3]
    assert again.payload(2) == b"ciphertext 2"  # waits beside its record until the ack
    again.acknowledge([2, 3, 4])
    assert len(again) == 0 and again.next_seq == 5
    assert again.payload(4) is None and again.payload(1) is None, "the edge holds acknowledged payloads"


def test_a_failed_build_assigns_no_sequence_number(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "queue.db", "monitor-1")
    queue.enqueue(0, 1, 0, built)

    def broken(seq: int) -> Built:
        raise RuntimeError("signing failed")

    with pytest.raises(RuntimeError):
        queue.enqueue(1, 2, 0, broken)
    assert (queue.next_seq, queue.next_frame, len(queue)) == (2, 1, 1)
    with pytest.raises(QueueCorrupt, match="expected frame >= 1, got 0"):
        queue.enqueue(0, 3, 0, built)


def test_another_devices_queue_is_refused(tmp_path: Path) -> None:
    DurableQueue(tmp_path / "queue.db", "monitor-1").close()
    with pytest.raises(QueueCorrupt, match="expected the queue of device 'pump-1', got 'monitor-1'"):
        DurableQueue(tmp_path / "queue.db", "pump-1")


WRITER = """
import hashlib, sys
from pathlib import Path
from devices.sensor.queue import Built, DurableQueue
queue = DurableQueue(Path(sys.argv[1]), "monitor-1")
k = queue.next_frame
while True:
    record = queue.enqueue(k, k, 0, lambda seq: Built(b"wire %d" % seq, hashlib.sha256(b"%d" % seq).digest(),
                                                      b"%d" % seq))
    print(record.seq, flush=True)
    if k % 7 == 0:
        queue.acknowledge([record.seq - 3] if record.seq > 3 else [])
    k += 1
"""


def test_kill_9_mid_stream_loses_no_committed_record(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    for _round in range(2):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE,
                                  text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert writer.stdout is not None
        printed = [int(writer.stdout.readline()) for _ in range(40)]
        time.sleep(0.05)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        printed += [int(line) for line in writer.stdout.read().split()]
        queue = DurableQueue(path, "monitor-1")
        seqs = [r.seq for r in queue.oldest(100_000)]
        committed = queue.next_seq - 1
        assert committed >= printed[-1], "a record reported as enqueued must survive kill -9"
        assert seqs == sorted(seqs) and seqs[-1] == committed
        assert queue.next_frame == committed, "frame and sequence advance in the same transaction"
        for seq in seqs:  # every record still waiting has its payload beside it
            assert queue.payload(seq) == b"%d" % seq, seq
        queue.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
