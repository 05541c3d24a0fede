"""How a batch is sealed into a block, and how a block maps to a ``blocks`` row and back.

The writer thread seals each group-commit batch (store.py) inside that batch's transaction:
the header names the tree size and root after the batch and the hash of the block before,
and is signed with the node's key. The wire format is :mod:`devices.wire.block`; the row
keeps its fields in columns (plus the block hash, for lookups by hash later), and the signed
bytes are rebuilt from them, so a changed column shows up as a bad signature or a broken link.
"""

from __future__ import annotations

import time

from devices.wire import BlockHeader, PrivateKey, SignedBlock
from devices.wire.block import GENESIS_PREVIOUS

COLUMNS = "height, previous, tree_size, root, time_ns, signature, hash"
INSERT = f"INSERT INTO blocks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
SELECT = f"SELECT {COLUMNS} FROM blocks"

Row = tuple[int, bytes, int, bytes, int, bytes, bytes]


def seal(key: PrivateKey, previous: SignedBlock | None, tree_size: int, root: bytes) -> SignedBlock:
    """The signed block that follows ``previous`` (None: the first block) for a log of ``tree_size``."""
    height, prev_hash = (0, GENESIS_PREVIOUS) if previous is None else (previous.header.height + 1, previous.hash())
    return BlockHeader(height, prev_hash, tree_size, root, time.time_ns()).sign(key)


def to_row(block: SignedBlock) -> Row:
    h = block.header
    return (h.height, h.previous, h.tree_size, h.root, h.time_ns, block.signature, block.hash())


def from_row(row: Row) -> tuple[SignedBlock, bytes]:
    """The block a row describes, and the hash the row stores for it (compare with ``block.hash()``)."""
    height, previous, tree_size, root, time_ns, signature, stored_hash = row
    return SignedBlock(BlockHeader(height, previous, tree_size, root, time_ns), signature), stored_hash
