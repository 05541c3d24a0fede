"""The ledger's block header: one per group-commit batch, hash-chained and signed by the node.

A block adds no data of its own: it says "after this batch the log had ``tree_size`` leaves
with Merkle root ``root``", links to the block before it by hash, and carries the node's
Ed25519 signature, so the controller can check the chain of batches offline with the node's
public key alone.

Canonical encoding, version 1 (integers unsigned big-endian, limited to 0..2**63-1 so signed
64-bit stores hold them unchanged; each hash carries its length, so a later hash function is
a visible format change, not a silent misparse)::

    size  field
    1     version          0x01
    8     height           0 for the first block, then +1 per block
    1     previous length  32
    32    previous         block hash of height - 1; 32 zero bytes at height 0
    8     tree_size        log size after the batch (leaves [previous tree_size, tree_size))
    1     root length      32
    32    root             RFC 9162 root of the log at tree_size
    8     time_ns          when the node sealed the block, ns since the Unix epoch

The node signs ``SIGNING_CONTEXT || encoding``; the context keeps a block signature from being
taken for a checkpoint note or a record signature made with the same key. The signed header
on the wire is ``encoding || signature`` (64 bytes), and the block hash, which the next block
names as ``previous``, is ``SHA-256(encoding || signature)``: over the signed header, so
neither a field nor the signature can change without breaking the chain.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from .ed25519 import SIGNATURE_SIZE, PrivateKey, PublicKey
from .errors import BlockFieldError, BlockFormatError, BlockLinkError, BlockSignatureInvalid
from .merkle import HASH_SIZE

VERSION = 1
SIGNING_CONTEXT = b"hil-ledger/block-header/v1\n"
GENESIS_PREVIOUS = bytes(HASH_SIZE)
MAX_INT = 2**63 - 1
_LAYOUT = struct.Struct(f">BQB{HASH_SIZE}sQB{HASH_SIZE}sQ")
ENCODED_SIZE = _LAYOUT.size  # 91
SIGNED_SIZE = ENCODED_SIZE + SIGNATURE_SIZE


@dataclass(frozen=True)
class BlockHeader:
    """What a block commits to; validated on construction, so it always encodes."""

    height: int
    previous: bytes
    tree_size: int
    root: bytes
    time_ns: int

    def __post_init__(self) -> None:
        for name in ("height", "tree_size", "time_ns"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
                raise BlockFieldError(f"block {name}: expected an integer in 0..2**63-1, got {value!r}")
        for name in ("previous", "root"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                got = len(value) if isinstance(value, bytes) else type(value).__name__
                raise BlockFieldError(f"block {name}: expected {HASH_SIZE} bytes, got {got}")
        if self.height == 0 and self.previous != GENESIS_PREVIOUS:
            raise BlockFieldError(f"block 0 previous: expected {HASH_SIZE} zero bytes, got {self.previous.hex()}")

    def encode(self) -> bytes:
        return _LAYOUT.pack(VERSION, self.height, HASH_SIZE, self.previous, self.tree_size, HASH_SIZE, self.root,
                            self.time_ns)

    @classmethod
    def decode(cls, data: bytes) -> BlockHeader:
        if len(data) != ENCODED_SIZE:
            raise BlockFormatError(f"block header: expected {ENCODED_SIZE} bytes, got {len(data)}")
        version, height, prev_len, previous, size, root_len, root, time_ns = _LAYOUT.unpack(data)
        if version != VERSION:
            raise BlockFormatError(f"block header version: expected {VERSION}, got {version}")
        if prev_len != HASH_SIZE or root_len != HASH_SIZE:
            raise BlockFormatError(f"block header hash lengths: expected {HASH_SIZE}, got {prev_len} and {root_len}")
        try:
            return cls(height, previous, size, root, time_ns)
        except BlockFieldError as exc:
            raise BlockFormatError(f"block header field out of range: {exc}") from None

    def signing_message(self) -> bytes:
        return SIGNING_CONTEXT + self.encode()

    def sign(self, key: PrivateKey) -> SignedBlock:
        return SignedBlock(self, key.sign(self.signing_message()))


@dataclass(frozen=True)
class SignedBlock:
    """A header with the node's signature: what the ledger stores and serves."""

    header: BlockHeader
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_SIZE:
            got = len(self.signature) if isinstance(self.signature, bytes) else type(self.signature).__name__
            raise BlockFieldError(f"block signature: expected {SIGNATURE_SIZE} bytes, got {got}")

    def to_bytes(self) -> bytes:
        return self.header.encode() + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedBlock:
        if len(data) != SIGNED_SIZE:
            raise BlockFormatError(f"signed block: expected {SIGNED_SIZE} bytes, got {len(data)}")
        return cls(BlockHeader.decode(data[:ENCODED_SIZE]), bytes(data[ENCODED_SIZE:]))

    def hash(self) -> bytes:
        """The block hash: SHA-256 over the signed header."""
        return hashlib.sha256(self.to_bytes()).digest()

    def verify(self, key: PublicKey) -> None:
        """Raise :class:`BlockSignatureInvalid` unless ``key`` signed this header."""
        if not key.verify(self.header.signing_message(), self.signature):
            raise BlockSignatureInvalid(f"block {self.header.height}: signature does not verify under key "
                                        f"{key.raw.hex()[:16]}…")


def verify_link(previous: SignedBlock | None, block: SignedBlock) -> None:
    """Raise :class:`BlockLinkError` unless ``block`` directly follows ``previous`` (None: genesis).

    Next height, the predecessor's hash, and a tree that grew: every block seals a non-empty
    batch, so its size is strictly above the one before.
    """
    header = block.header
    height, prev_hash, prev_size = (0, GENESIS_PREVIOUS, 0) if previous is None else (
        previous.header.height + 1, previous.hash(), previous.header.tree_size)
    if header.height != height:
        raise BlockLinkError(f"block height: expected {height}, got {header.height}")
    if header.previous != prev_hash:
        raise BlockLinkError(f"block {height} previous: expected {prev_hash.hex()}, got {header.previous.hex()}")
    if header.tree_size <= prev_size:
        raise BlockLinkError(f"block {height} tree_size: expected above {prev_size}, got {header.tree_size}")
