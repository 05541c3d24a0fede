"""The ledger's SQLite file: tables, append-only triggers, and how connections are opened.

Tables::

    entries(idx, data)        leaf i's bytes (a signed record), idx dense from 0
    hashes(id, hash)          every complete subtree's hash, id in post order (tree.py)
    device_seq(device, seq)   highest sequence number accepted per device (anti-replay)
    blocks(height, ...)       one signed block header per committed batch (devices/wire/block.py),
                              its fields in columns, ``hash`` = its block hash; written in the
                              batch's own transaction, so a block exists iff its entries do
    meta(key, value)          format version; ``block_key``, the hex public key blocks are signed with

``entries``, ``hashes`` and ``blocks`` refuse UPDATE and DELETE, and accept an INSERT only at the end
(next idx / next id); the last rule also closes ``INSERT OR REPLACE``, whose implicit delete
does not fire delete triggers. ``device_seq`` may only move forward. The triggers catch
program bugs and casual edits of the file; anyone who can write the file can drop them, which
is what the Merkle tree and signed checkpoints are for.

Durability: WAL with ``synchronous=FULL`` fsyncs the log at every COMMIT, so a committed
transaction survives a process or OS crash (ledger.md §5.3). Keep the file on a local disk;
WAL does not work over network filesystems.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import StoreCorrupt

FORMAT = "2"  # 2: blocks

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS hashes (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
CREATE TABLE IF NOT EXISTS device_seq (device TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    previous BLOB NOT NULL CHECK (length(previous) = 32),
    tree_size INTEGER NOT NULL,
    root BLOB NOT NULL CHECK (length(root) = 32),
    time_ns INTEGER NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    hash BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE TRIGGER IF NOT EXISTS device_seq_forward BEFORE UPDATE ON device_seq
WHEN NEW.seq <= OLD.seq OR NEW.device IS NOT OLD.device
BEGIN SELECT RAISE(ABORT, 'device sequence numbers only move forward'); END;
CREATE TRIGGER IF NOT EXISTS device_seq_keep BEFORE DELETE ON device_seq
BEGIN SELECT RAISE(ABORT, 'device sequence numbers cannot be deleted'); END;
"""


def _append_only(table: str, key: str, noun: str, key_word: str) -> str:
    """The three triggers that make ``table`` append-only, dense in ``key``."""
    return f"""
CREATE TRIGGER IF NOT EXISTS {table}_append_only_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'append-only: {noun} cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS {table}_append_only_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'append-only: {noun} cannot be deleted'); END;
CREATE TRIGGER IF NOT EXISTS {table}_append_at_end BEFORE INSERT ON {table}
WHEN NEW.{key} IS NOT (SELECT COALESCE(MAX({key}), -1) + 1 FROM {table})
BEGIN SELECT RAISE(ABORT, 'append-only: {noun} are inserted at the next {key_word} only'); END;
"""


_DDL += "".join(_append_only(*spec) for spec in (
    ("entries", "idx", "entries", "index"),
    ("hashes", "id", "hashes", "id"),
    ("blocks", "height", "blocks", "height"),
))


def open_writer(path: Path) -> sqlite3.Connection:
    """The single writing connection: creates the schema, WAL + synchronous=FULL, autocommit
    (transactions are explicit ``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        conn.close()
        raise StoreCorrupt(f"{path}: expected journal_mode wal, SQLite gave {mode!r} "
                           "(is the file on a network filesystem?)")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.executescript(_DDL)
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)", (FORMAT,))
    found = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0]
    if found != FORMAT:
        conn.close()
        raise StoreCorrupt(f"{path}: expected ledger format {FORMAT}, the file says {found}")
    return conn


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection; in WAL mode readers never block the writer, nor it them."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    return conn
