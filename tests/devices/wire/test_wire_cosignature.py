"""C2SP tlog-cosignature: the exact signed message and key ID, round trips, tampering, k-of-n."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from devices.wire import Checkpoint, Ed25519Signer, PrivateKey, parse_note, sign_checkpoint
from devices.wire.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    cosigned_message,
    require_cosignatures,
)
from devices.wire.errors import CosignatureInvalid, NoteFormatError, NoteSignatureInvalid, QuorumNotMet

LOG = Ed25519Signer("ledger.a.example/log", PrivateKey(b"\x01" * 32))
WITNESSES = [CosignatureSigner(f"w{n}.example/witness", PrivateKey(bytes([0x40 + n]) * 32)) for n in range(3)]
CHECKPOINT = Checkpoint(LOG.name, 7, hashlib.sha256(b"root").digest())


def _cosigned(*signers: CosignatureSigner, timestamp: int = 1_700_000_000) -> bytes:
    note = sign_checkpoint(CHECKPOINT, LOG)
    return note + b"".join(s.cosign(CHECKPOINT.to_text(), timestamp).line().encode() for s in signers)


def test_message_key_id_and_line_follow_the_spec() -> None:
    text = CHECKPOINT.to_text()
    assert cosigned_message(text, 1_700_000_000) == b"cosignature/v1\ntime 1700000000\n" + text.encode()
    w = WITNESSES[0]
    pub = w.private_key.public_key.raw
    assert w.key_id == hashlib.sha256(w.name.encode() + b"\n\x04" + pub).digest()[:4]
    sig = w.cosign(text, 1_700_000_000)
    assert sig.signature[:8] == struct.pack(">Q", 1_700_000_000) and len(sig.signature) == 72
    assert w.private_key.public_key.verify(cosigned_message(text, 1_700_000_000), sig.signature[8:])
    line = sig.line()
    assert line.startswith(f"\u2014 {w.name} ") and base64.b64decode(line.split()[2])[:4] == w.key_id
    vkey = w.verifier.vkey()
    assert base64.b64decode(vkey.split("+")[2])[0] == 0x04
    assert CosignatureVerifier.from_vkey(vkey) == w.verifier


def test_round_trip_through_a_note_and_the_policy() -> None:
    data = _cosigned(*WITNESSES)
    note = parse_note(data)
    assert [s.name for s in note.signatures] == [LOG.name] + [w.name for w in WITNESSES]
    result = require_cosignatures(data, LOG.verifier, [w.verifier for w in WITNESSES], 3)
    assert result.checkpoint == CHECKPOINT
    assert result.witnesses == tuple((w.name, 1_700_000_000) for w in WITNESSES)


def test_tampering_is_detected() -> None:
    verifiers = [w.verifier for w in WITNESSES]
    # another root under the old cosignature lines: the log signature fails first
    forged = _cosigned(*WITNESSES).replace(base64.b64encode(CHECKPOINT.root_hash), base64.b64encode(b"\x00" * 32))
    with pytest.raises(NoteSignatureInvalid, match=LOG.name):
        require_cosignatures(forged, LOG.verifier, verifiers, 1)
    # a changed timestamp in one cosignature: that witness is named
    good = _cosigned(WITNESSES[0], WITNESSES[1])
    note = parse_note(good)
    sig = note.signatures[2]
    moved = struct.pack(">Q", 1_700_000_001) + sig.signature[8:]
    bad = good.replace(base64.b64encode(sig.key_id + sig.signature), base64.b64encode(sig.key_id + moved))
    with pytest.raises(CosignatureInvalid, match=rf"{WITNESSES[1].name}\+{WITNESSES[1].key_id.hex()}"):
        require_cosignatures(bad, LOG.verifier, verifiers, 1)
    # a log-type (0x01) key with the same name and seed is not the witness key
    assert WITNESSES[0].key_id != Ed25519Signer(WITNESSES[0].name, WITNESSES[0].private_key).key_id
    with pytest.raises(NoteFormatError, match="0x04"):
        CosignatureVerifier.from_vkey(Ed25519Signer(WITNESSES[0].name, WITNESSES[0].private_key).verifier.vkey())


def test_quorum_names_the_missing_witnesses() -> None:
    verifiers = [w.verifier for w in WITNESSES]
    stranger = CosignatureSigner("stranger.example/witness", PrivateKey(b"\x77" * 32))
    data = _cosigned(WITNESSES[0], stranger, WITNESSES[0])  # duplicates count once, strangers not at all
    assert require_cosignatures(data, LOG.verifier, verifiers, 1).witnesses == ((WITNESSES[0].name, 1_700_000_000),)
    with pytest.raises(QuorumNotMet) as refused:
        require_cosignatures(data, LOG.verifier, verifiers, 2)
    message = str(refused.value)
    assert "expected valid cosignatures from 2 of 3 witnesses, got 1" in message
    assert WITNESSES[1].name in message and WITNESSES[2].name in message and stranger.name not in message
    with pytest.raises(ValueError, match="1 <= k <= 3"):
        require_cosignatures(data, LOG.verifier, verifiers, 4)
