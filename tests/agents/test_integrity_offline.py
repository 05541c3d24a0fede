"""The pure halves of testbed.agents.integrity on a ledger store in a temporary directory (no rig, no root):
good evidence holds, and each alteration a fault would make is refused naming the item."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.edge.ledger.store import LedgerStore
from devices.wire import Checkpoint, Ed25519Signer, PrivateKey, parse_note, sign_checkpoint
from devices.wire.cosignature import CosignatureSigner
from testbed.agents.integrity import (
    InclusionSample,
    check_acked,
    consistency_pairs,
    verify_consistency_chain,
    verify_cosigned,
    verify_inclusions,
)
from testbed.agents.ledger import LedgerEntry
from testbed.agents.stats import AckSample, AgentStats

LOG = Ed25519Signer("ledger.offline.example/log", PrivateKey(b"\x21" * 32))
WITNESSES = [CosignatureSigner(f"w{n}.example/witness", PrivateKey(bytes([0x22 + n]) * 32)) for n in range(3)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LedgerStore]:
    with LedgerStore(tmp_path / "ledger.db", LOG.private_key) as store:
        for n in range(13):
            store.append(f"entry {n}".encode())
        yield store


def note_at(store: LedgerStore, size: int, signer: Ed25519Signer = LOG) -> bytes:
    return sign_checkpoint(Checkpoint(LOG.name, size, store.root(size)), signer)


def test_inclusion_proofs(store: LedgerStore) -> None:
    samples = [InclusionSample(i, 13, f"entry {i}".encode(), tuple(store.inclusion_proof(i, 13))) for i in (0, 5, 12)]
    good = verify_inclusions(note_at(store, 13), LOG.verifier, samples)
    assert good.holds and good.checked == {"proofs": 3, "tree_size": 13}
    flipped = dataclasses.replace(samples[1], proof=(bytes(32), *samples[1].proof[1:]))
    assert "leaf 5:" in verify_inclusions(note_at(store, 13), LOG.verifier, [flipped]).detail
    wrong = Ed25519Signer(LOG.name, PrivateKey(b"\x29" * 32))
    assert "checkpoint signature" in verify_inclusions(note_at(store, 13, wrong), LOG.verifier, samples).detail
    assert "tree size 13" in verify_inclusions(note_at(store, 12), LOG.verifier, samples).detail


def test_consistency_chain(store: LedgerStore) -> None:
    notes = [note_at(store, size) for size in (0, 3, 3, 8, 13)]
    proofs = {pair: store.consistency_proof(*pair) for pair in consistency_pairs(notes)}
    assert list(proofs) == [(3, 8), (8, 13)]
    assert verify_consistency_chain(notes, LOG.verifier, proofs).checked == {"checkpoints": 5, "pairs": 3}
    assert "the log shrank" in verify_consistency_chain(notes[::-1], LOG.verifier, proofs).detail
    fork = sign_checkpoint(Checkpoint(LOG.name, 8, bytes(32)), LOG)
    assert "checkpoints 2 -> 3" in verify_consistency_chain([*notes[:3], fork], LOG.verifier, proofs).detail
    assert "checkpoints 3 -> 4" in verify_consistency_chain(notes, LOG.verifier, {**proofs, (8, 13): []}).detail


def test_cosignatures_against_a_quorum(store: LedgerStore) -> None:
    note = note_at(store, 13)
    text = parse_note(note).text
    lines = [w.cosign(text, 1_700_000_000).line().encode() for w in WITNESSES]
    verifiers = [w.verifier for w in WITNESSES]
    assert verify_cosigned(note + lines[0] + lines[2], LOG.verifier, verifiers, 2).checked["cosignatures"] == 2
    short = verify_cosigned(note + lines[0], LOG.verifier, verifiers, 2)
    assert not short.holds and "got 1; missing" in short.detail
    other = WITNESSES[1].cosign(parse_note(note_at(store, 12)).text, 1).line().encode()  # for another checkpoint
    assert "does not verify" in verify_cosigned(note + lines[0] + other, LOG.verifier, verifiers, 2).detail


def _stats(device: str, seqs: list[int], made: int) -> AgentStats:
    acks = tuple(AckSample(device, s, s, 0, 0, 0, None, True) for s in seqs)
    return AgentStats(device, acks, made, 0, True)


def test_acked_records_exactly_once() -> None:
    entries = [LedgerEntry(i, d, s) for i, (d, s) in enumerate([("a", 1), ("b", 1), ("a", 2), ("b", 2)])]
    stats = {"a": _stats("a", [1, 2], 2), "b": _stats("b", [1, 2], 2)}
    assert check_acked(stats, entries).holds
    assert "device a seq 2" in check_acked(stats, entries[:2] + entries[3:]).detail
    assert "found at [0, 4]" in check_acked(stats, [*entries, LedgerEntry(4, "a", 1)]).detail
    assert "never acknowledged" in check_acked({**stats, "a": _stats("a", [1], 2)}, entries).detail
    assert "was never made" in check_acked({**stats, "b": _stats("b", [1], 1)}, entries).detail
    pending = {**stats, "a": dataclasses.replace(_stats("a", [1], 2), pending=1)}  # still draining: not an error
    assert check_acked(pending, entries).holds
