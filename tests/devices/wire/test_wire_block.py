"""The block header encoding: exact bytes, signature, hash chain, and what is refused."""

from __future__ import annotations

import hashlib
import struct

import pytest

from devices.wire import (
    BlockFieldError,
    BlockFormatError,
    BlockHeader,
    BlockLinkError,
    BlockSignatureInvalid,
    PrivateKey,
    SignedBlock,
    verify_link,
)
from devices.wire.block import ENCODED_SIZE, GENESIS_PREVIOUS, SIGNED_SIZE, SIGNING_CONTEXT

KEY = PrivateKey(b"\x07" * 32)
ROOT = hashlib.sha256(b"root").digest()


def _chain(count: int) -> list[SignedBlock]:
    chain: list[SignedBlock] = []
    for height in range(count):
        previous = chain[-1].hash() if chain else GENESIS_PREVIOUS
        chain.append(BlockHeader(height, previous, 3 * (height + 1), ROOT, 1_700_000_000_000_000_000 + height)
                     .sign(KEY))
    return chain


def test_the_encoding_is_the_documented_layout() -> None:
    previous = bytes(range(32))
    header = BlockHeader(5, previous, 1234, ROOT, 42)
    expected = (b"\x01" + (5).to_bytes(8, "big") + b"\x20" + previous + (1234).to_bytes(8, "big") + b"\x20" + ROOT
                + (42).to_bytes(8, "big"))
    assert header.encode() == expected and len(expected) == ENCODED_SIZE == 91
    assert header.signing_message() == b"hil-ledger/block-header/v1\n" + expected == SIGNING_CONTEXT + expected
    block = header.sign(KEY)
    assert block.to_bytes() == expected + block.signature and len(block.to_bytes()) == SIGNED_SIZE
    assert block.hash() == hashlib.sha256(expected + block.signature).digest()
    assert SignedBlock.from_bytes(block.to_bytes()) == block
    block.verify(KEY.public_key)


def test_every_byte_of_the_signed_header_is_covered() -> None:
    block = _chain(2)[1]
    wire = block.to_bytes()
    for position in range(len(wire)):
        changed = bytearray(wire)
        changed[position] ^= 0x01
        try:
            other = SignedBlock.from_bytes(bytes(changed))
        except BlockFormatError:
            continue  # version or hash-length byte: refused before any signature check
        assert other.hash() != block.hash()
        with pytest.raises(BlockSignatureInvalid, match=r"block \d+: signature does not verify"):
            other.verify(KEY.public_key)
    with pytest.raises(BlockSignatureInvalid):
        block.verify(PrivateKey(b"\x08" * 32).public_key)


def test_the_chain_links_by_hash_height_and_growth() -> None:
    chain = _chain(4)
    verify_link(None, chain[0])
    for before, after in zip(chain, chain[1:], strict=False):
        verify_link(before, after)
    with pytest.raises(BlockLinkError, match="block height: expected 3, got 2"):
        verify_link(chain[2], chain[2])
    with pytest.raises(BlockLinkError, match=f"block 2 previous: expected {chain[1].hash().hex()}"):
        verify_link(chain[1], BlockHeader(2, chain[0].hash(), 9, ROOT, 0).sign(KEY))
    with pytest.raises(BlockLinkError, match="block 2 tree_size: expected above 6, got 6"):
        verify_link(chain[1], BlockHeader(2, chain[1].hash(), 6, ROOT, 0).sign(KEY))
    with pytest.raises(BlockLinkError, match="block height: expected 0, got 1"):
        verify_link(None, chain[1])


def test_bad_fields_and_bytes_are_refused_with_the_reason() -> None:
    with pytest.raises(BlockFieldError, match="block 0 previous: expected 32 zero bytes"):
        BlockHeader(0, ROOT, 1, ROOT, 0)
    with pytest.raises(BlockFieldError, match="block root: expected 32 bytes, got 31"):
        BlockHeader(1, ROOT, 1, ROOT[:31], 0)
    with pytest.raises(BlockFieldError, match=r"block tree_size: expected an integer in 0..2\*\*63-1, got -1"):
        BlockHeader(1, ROOT, -1, ROOT, 0)
    with pytest.raises(BlockFieldError, match="block height: expected an integer"):
        BlockHeader(True, ROOT, 1, ROOT, 0)  # type: ignore[arg-type]
    with pytest.raises(BlockFieldError, match="block signature: expected 64 bytes, got 3"):
        SignedBlock(BlockHeader(1, ROOT, 1, ROOT, 0), b"sig")
    wire = _chain(1)[0].to_bytes()
    with pytest.raises(BlockFormatError, match=f"signed block: expected {SIGNED_SIZE} bytes, got {SIGNED_SIZE + 1}"):
        SignedBlock.from_bytes(wire + b"\x00")
    with pytest.raises(BlockFormatError, match="block header version: expected 1, got 2"):
        SignedBlock.from_bytes(b"\x02" + wire[1:])
    with pytest.raises(BlockFormatError, match="hash lengths: expected 32, got 33 and 32"):
        SignedBlock.from_bytes(wire[:9] + b"\x21" + wire[10:])
    too_big = wire[:1] + struct.pack(">Q", 2**63) + wire[9:]
    with pytest.raises(BlockFormatError, match="field out of range"):
        SignedBlock.from_bytes(too_big)
