"""``verify DATADIR``: a good store passes; one flipped byte anywhere that matters is named.

The data directory is written by the real store (real SQLite file, real signed records and
blocks); the audit runs as the real command. Corruptions are made two ways, both on a copy:
raw byte edits of the closed SQLite file (what a disk error or a hand with a hex editor
does; SQLite has no page checksums, so it reads the changed value back without complaint),
and, where a row-level change is clearer, dropping the append-only trigger and UPDATE-ing.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.edge.ledger import Append, LedgerStore
from devices.edge.ledger.payloads import PayloadStore
from devices.edge.ledger.tree import stored_id
from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest

REPO = Path(__file__).resolve().parents[4]
SIGNER = Ed25519Signer("ledger.verify-test.example/log", PrivateKey(b"\x51" * 32))
DEVICES = {"monitor-1": PrivateKey(b"\x61" * 32), "pump-1": PrivateKey(b"\x62" * 32)}


def _record(device: str, seq: int) -> bytes:
    payload = b"payload %s %d" % (device.encode(), seq)
    envelope = RecordEnvelope("vitals", device, seq, time.time_ns(), time.time_ns(), payload_digest(payload),
                              len(payload))
    return envelope.sign(DEVICES[device]).to_bytes()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with 33 records in 12 blocks, three payloads, node.vkey and devices.json."""
    root = tmp_path_factory.mktemp("verify")
    data = root / "data"
    data.mkdir()
    (data / "node.vkey").write_text(SIGNER.verifier.vkey() + "\n")
    (root / "devices.json").write_text(json.dumps({"devices": {
        name: base64.b64encode(key.public_key.raw).decode() for name, key in DEVICES.items()}}))
    seqs = {"monitor-1": 0, "pump-1": 0}
    with LedgerStore(data / "ledger.db", SIGNER.private_key) as store:
        for batch in range(12):
            items = []
            for n in range(1 + batch % 5):
                device = "monitor-1" if n % 2 else "pump-1"
                seqs[device] += 1 + n % 3
                items.append(Append(_record(device, seqs[device]), device, seqs[device]))
            store.append_many(items)
        assert (store.size, store.block_count) == (33, 12)
    payloads = PayloadStore(data / "payloads")
    for n in range(3):
        body = b"ciphertext %d" % n
        payloads.put(payload_digest(body).hex(), body)
    return root


def _verify(root: Path, *extra: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "devices.edge.ledger", "verify", str(root / "data"),
                           "--devices", str(root / "devices.json"), *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def _copy(good: Path, tmp_path: Path) -> Path:
    shutil.copytree(good, tmp_path / "copy")
    return tmp_path / "copy"


def _flip(db: Path, value: bytes) -> None:
    """Flip one bit of the one place ``value`` occurs in the database file."""
    raw = bytearray(db.read_bytes())
    assert raw.count(value) == 1, f"expected {value.hex()} once in the file, found {raw.count(value)}"
    raw[raw.find(value) + len(value) // 2] ^= 0x01
    db.write_bytes(bytes(raw))


def _row(db: Path, sql: str) -> bytes:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_a_good_store_verifies_with_counts(good: Path) -> None:
    assert not (good / "data" / "ledger.db-wal").exists()  # closed cleanly: the raw edits below hit the file
    code, out = _verify(good)
    assert code == 0, out
    assert "ok " in out and "33 entries, 64 hashes, 12 blocks, 2 devices, 3 payloads" in out
    key_file = good / "node.vkey.copy"
    key_file.write_text(SIGNER.verifier.vkey())
    assert _verify(good, "--key", str(key_file))[0] == 0


def test_a_flipped_byte_in_an_entry_is_named(good: Path, tmp_path: Path) -> None:
    copy = _copy(good, tmp_path)
    db = copy / "data" / "ledger.db"
    entry = _row(db, "SELECT data FROM entries WHERE idx = 17")
    _flip(db, entry[-64:])  # raw edit inside the device signature the entry carries
    code, out = _verify(copy)
    assert code == 1 and out.startswith("FAIL"), out
    assert "leaf 17 device signature: record monitor-1#12: signature does not verify" in out, out


def test_a_flipped_byte_in_a_hash_row_is_named(good: Path, tmp_path: Path) -> None:
    copy = _copy(good, tmp_path)
    db = copy / "data" / "ledger.db"
    raw = db.read_bytes()  # a leaf whose hash the file holds once (page splits can leave dead copies)
    leaves = {i: _row(db, f"SELECT hash FROM hashes WHERE id = {stored_id(0, i)}") for i in range(11, 33)}
    index = next(i for i, value in leaves.items() if raw.count(value) == 1)
    leaf = leaves[index]
    _flip(db, leaf)
    code, out = _verify(copy)
    assert code == 1 and f"leaf {index} hash (id {stored_id(0, index)}): expected {leaf.hex()}, got " in out, out

    copy2 = tmp_path / "copy2"
    shutil.copytree(good, copy2)
    db2 = copy2 / "data" / "ledger.db"
    conn = sqlite3.connect(db2)  # a row-level rewrite of an interior node, trigger dropped first
    conn.execute("DROP TRIGGER hashes_append_only_update")
    conn.execute(f"UPDATE hashes SET hash = zeroblob(32) WHERE id = {stored_id(3, 0)}")  # over leaves 0..7
    conn.commit()
    conn.close()
    code, out = _verify(copy2)
    assert code == 1 and f"subtree hash id {stored_id(3, 0)} (level 3, leaves 0..7): expected " in out, out
    assert out.rstrip().endswith("got " + "00" * 32)


def test_a_flipped_byte_in_a_block_signature_is_named(good: Path, tmp_path: Path) -> None:
    copy = _copy(good, tmp_path)
    db = copy / "data" / "ledger.db"
    _flip(db, _row(db, "SELECT signature FROM blocks WHERE height = 7"))
    code, out = _verify(copy)
    assert code == 1 and "block 7 signature: block 7: signature does not verify" in out, out


def test_a_broken_block_link_and_another_node_key_are_named(good: Path, tmp_path: Path) -> None:
    copy = _copy(good, tmp_path)
    db = copy / "data" / "ledger.db"
    conn = sqlite3.connect(db)  # previous also sits in block 3's hash column: a row edit names the one
    conn.execute("DROP TRIGGER blocks_append_only_update")
    conn.execute("UPDATE blocks SET previous = zeroblob(32) WHERE height = 4")
    conn.commit()
    conn.close()
    code, out = _verify(copy)
    assert code == 1 and "block 4: block 4 previous: expected " in out, out

    copy2 = tmp_path / "copy2"
    shutil.copytree(good, copy2)
    other = Ed25519Signer("ledger.verify-test.example/log", PrivateKey(b"\x52" * 32))
    (copy2 / "data" / "node.vkey").write_text(other.verifier.vkey())
    code, out = _verify(copy2)
    assert code == 1 and "meta block_key: expected " in out, out


def test_a_changed_payload_file_is_named(good: Path, tmp_path: Path) -> None:
    copy = _copy(good, tmp_path)
    victim = sorted((copy / "data" / "payloads").glob("??/*"))[1]
    victim.write_bytes(b"swapped")
    code, out = _verify(copy)
    assert code == 1 and f"payload {victim.name}: expected content with that SHA-256" in out, out
