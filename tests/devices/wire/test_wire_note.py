"""C2SP signed notes and checkpoints: published examples, round trips, and every kind of tampering."""

from __future__ import annotations

import base64

import pytest

from devices.wire import (
    Checkpoint,
    Ed25519Signer,
    Ed25519Verifier,
    PrivateKey,
    leaf_hash,
    open_checkpoint,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
)
from devices.wire.errors import NoteFormatError, NoteSignatureInvalid, NoteUnverified, OriginMismatch
from devices.wire.note import EM_DASH, MAX_SIGNATURES, key_id

# c2sp.org/signed-note, section "Example" (the spec's worked example).
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (f"This is an example message.\n\n{EM_DASH} example.com/foo "
             "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")

# golang.org/x/mod/sumdb/note package documentation: a signer key, its verifier key, and the
# signature it makes over the text below (Ed25519 is deterministic, so signing must match).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE_LINE = (f"{EM_DASH} PeterNeumann "
                     "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")

LOG = Ed25519Signer("ledger.edge-1.example/log", PrivateKey(b"\x01" * 32))
WITNESS = Ed25519Signer("regulator.example/witness", PrivateKey(b"\x02" * 32))
CHECKPOINT = Checkpoint("ledger.edge-1.example/log", 1234, leaf_hash(b"root"))


def test_spec_example_verifies() -> None:
    verifier = Ed25519Verifier.from_vkey(SPEC_VKEY)
    assert verifier.key_id.hex() == "530d903a"
    assert verifier.vkey() == SPEC_VKEY
    note, verified = open_note(SPEC_NOTE, [verifier])
    assert note.text == "This is an example message.\n"
    assert verified == (verifier,)
    assert note.to_bytes() == SPEC_NOTE.encode()


def test_go_example_key_signs_byte_for_byte() -> None:
    signer = Ed25519Signer.from_skey(GO_SKEY)
    assert signer.skey() == GO_SKEY
    assert signer.verifier.vkey() == GO_VKEY
    note = sign_note(GO_TEXT, [signer])
    assert note.to_bytes().decode() == GO_TEXT + "\n" + GO_SIGNATURE_LINE
    open_note(note.to_bytes(), [Ed25519Verifier.from_vkey(GO_VKEY)])


def test_key_id_is_the_recommended_hash() -> None:
    verifier = LOG.verifier
    assert verifier.key_id == key_id(LOG.name, 0x01, verifier.public_key.raw)
    assert Ed25519Verifier.from_vkey(verifier.vkey()) == verifier
    assert Ed25519Signer.from_skey(LOG.skey()).verifier == verifier


def test_checkpoint_round_trip_with_extensions_and_cosignature() -> None:
    checkpoint = Checkpoint(CHECKPOINT.origin, 7, leaf_hash(b"r"), ("block 3", "time 1700000000"))
    text = checkpoint.to_text()
    assert text.splitlines()[:2] == [checkpoint.origin, "7"]
    note = sign_note(text, [LOG, WITNESS]).to_bytes()
    opened, _, verified = open_checkpoint(note, LOG.verifier, others=[WITNESS.verifier])
    assert opened == checkpoint
    assert set(verified) == {LOG.verifier, WITNESS.verifier}


def test_empty_tree_checkpoint() -> None:
    from devices.wire import EMPTY_ROOT

    empty = Checkpoint(CHECKPOINT.origin, 0, EMPTY_ROOT)
    assert empty.to_text() == f"{CHECKPOINT.origin}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert open_checkpoint(sign_checkpoint(empty, LOG), LOG.verifier)[0] == empty


def _signed() -> bytes:
    return sign_checkpoint(CHECKPOINT, LOG)


def test_every_changed_byte_of_the_body_is_caught() -> None:
    signed = _signed()
    body = len(CHECKPOINT.to_text().encode())
    for position in range(body):
        tampered = bytearray(signed)
        tampered[position] ^= 0x01
        with pytest.raises((NoteSignatureInvalid, NoteFormatError)):
            open_checkpoint(bytes(tampered), LOG.verifier)


def test_a_tampered_size_is_a_signature_failure() -> None:
    tampered = _signed().replace(b"\n1234\n", b"\n1235\n")
    with pytest.raises(NoteSignatureInvalid, match="ledger.edge-1.example/log"):
        open_checkpoint(tampered, LOG.verifier)


def test_wrong_key_with_the_same_name_is_an_unknown_key() -> None:
    impostor = Ed25519Signer(LOG.name, PrivateKey(b"\x03" * 32))
    with pytest.raises(NoteUnverified, match="expected a signature by one of"):
        open_checkpoint(sign_checkpoint(CHECKPOINT, impostor), LOG.verifier)


def test_signature_under_an_unknown_key_name_is_not_enough() -> None:
    with pytest.raises(NoteUnverified):
        open_checkpoint(sign_checkpoint(CHECKPOINT, WITNESS), LOG.verifier)


def test_unknown_signatures_are_ignored_next_to_a_good_one() -> None:
    stranger = Ed25519Signer("stranger.example/key", PrivateKey(b"\x04" * 32))
    note = sign_note(CHECKPOINT.to_text(), [stranger, LOG]).to_bytes()
    assert open_checkpoint(note, LOG.verifier)[0] == CHECKPOINT


def test_one_bad_signature_from_a_known_key_rejects_the_note() -> None:
    note = parse_note(sign_note(CHECKPOINT.to_text(), [LOG, WITNESS]).to_bytes())
    bad = note.signatures[1].signature[:-1] + bytes([note.signatures[1].signature[-1] ^ 1])
    tampered = note.to_bytes().replace(
        base64.b64encode(note.signatures[1].key_id + note.signatures[1].signature),
        base64.b64encode(note.signatures[1].key_id + bad))
    with pytest.raises(NoteSignatureInvalid, match="regulator.example/witness"):
        open_note(tampered, [LOG.verifier, WITNESS.verifier])


def test_witness_cosignature_alone_does_not_make_a_log_checkpoint() -> None:
    with pytest.raises(NoteUnverified, match="the log key"):
        open_checkpoint(sign_checkpoint(CHECKPOINT, WITNESS), LOG.verifier, others=[WITNESS.verifier])


def test_origin_must_be_the_expected_log() -> None:
    other = Checkpoint("ledger.edge-2.example/log", 1, leaf_hash(b"x"))
    with pytest.raises(OriginMismatch, match="expected 'ledger.edge-1.example/log', got 'ledger.edge-2.example/log'"):
        open_checkpoint(sign_checkpoint(other, LOG), LOG.verifier)
    assert open_checkpoint(sign_checkpoint(other, LOG), LOG.verifier, origin=other.origin)[0] == other


SIG = _signed().decode().split("\n\n", 1)[1]


@pytest.mark.parametrize(("text", "message"), [
    (CHECKPOINT.to_text() + SIG, "blank line"),
    (CHECKPOINT.to_text() + "\n", "at least one signature"),
    (CHECKPOINT.to_text() + "\n" + SIG.replace(EM_DASH, "--"), "em dash"),
    (CHECKPOINT.to_text() + "\n" + SIG.replace(" ", "  ", 1), "expected '"),
    (CHECKPOINT.to_text() + "\n" + SIG.rstrip("\n"), "end in a newline"),
    (CHECKPOINT.to_text() + "\n" + SIG + "extra line\n", "em dash"),
    (CHECKPOINT.to_text() + "\n" + SIG + "\n", "at least one signature"),
    (CHECKPOINT.to_text().replace("\n", "\r\n", 1) + "\n" + SIG, "control characters"),
    (CHECKPOINT.to_text() + "\n" + SIG.replace("=", ""), "base64"),
    (CHECKPOINT.to_text() + "\n" + f"{EM_DASH} {LOG.name} AAAA\n", "4-byte key ID and a signature"),
    (CHECKPOINT.to_text() + "\n" + SIG.replace(LOG.name, "bad+name"), "'\\+'"),
])
def test_malformed_notes_are_refused(text: str, message: str) -> None:
    with pytest.raises(NoteFormatError, match=message):
        open_checkpoint(text, LOG.verifier)


def test_non_canonical_base64_is_refused() -> None:
    note = parse_note(_signed())
    raw = note.signatures[0].key_id + note.signatures[0].signature  # 68 bytes: one '=' of padding
    canonical = base64.b64encode(raw).decode()
    loose = canonical[:-2] + chr(ord(canonical[-2]) + 1) + "="  # same bytes, stray low bits set
    assert base64.b64decode(loose) == raw
    with pytest.raises(NoteFormatError, match="canonical base64"):
        parse_note(_signed().decode().replace(canonical, loose))


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(NoteFormatError, match="UTF-8"):
        parse_note(b"\xff\n\n" + SIG.encode())


def test_signature_count_is_bounded() -> None:
    line = SIG
    with pytest.raises(NoteFormatError, match=f"at most {MAX_SIGNATURES} signatures"):
        parse_note(CHECKPOINT.to_text() + "\n" + line * (MAX_SIGNATURES + 1))
    assert len(parse_note(CHECKPOINT.to_text() + "\n" + line * 16).signatures) == 16  # spec: at least 16


@pytest.mark.parametrize(("body", "message"), [
    ("log\n1234\n", "at least 3 lines"),
    ("log\n01234\n{root}\n", "leading zeros"),
    ("log\n-1\n{root}\n", "decimal"),
    ("log\n+1\n{root}\n", "decimal"),
    ("log\n9223372036854775808\n{root}\n", "at most 2\\*\\*63-1"),
    ("log\n1\nAAAA\n", "expected 32 bytes, got 3"),
    ("log\n1\n{root}\n\nafter-empty\n", "extension"),
    ("\n1\n{root}\n", "origin"),
    ("log\n1\n{root}", "newline"),
])
def test_malformed_checkpoint_bodies_are_refused(body: str, message: str) -> None:
    root = base64.b64encode(leaf_hash(b"r")).decode()
    with pytest.raises(NoteFormatError, match=message):
        Checkpoint.from_text(body.format(root=root))


@pytest.mark.parametrize(("vkey", "message"), [
    ("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key ID in the text is 530d903b"),
    ("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "lowercase hex"),
    ("example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "type byte 0x01"),
    ("example.com/foo+530d903a", "<name>"),
    ("example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "spaces"),
])
def test_malformed_verifier_keys_are_refused(vkey: str, message: str) -> None:
    with pytest.raises(NoteFormatError, match=message):
        Ed25519Verifier.from_vkey(vkey)
