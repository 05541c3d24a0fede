"""Record envelopes: the canonical encoding is pinned byte for byte, signatures bind every field."""

from __future__ import annotations

import dataclasses

import pytest

from devices.wire import PrivateKey, RecordEnvelope, SignedRecord, payload_digest
from devices.wire.envelope import MAX_POINTER, MAX_SIGNED_SIZE, SIGNING_CONTEXT
from devices.wire.errors import EnvelopeFieldError, EnvelopeFormatError, SignatureInvalid

ENVELOPE = RecordEnvelope(
    kind="vitals",
    device_id="bedside-07",
    seq=42,
    created_ns=0x0102030405060708,
    signed_ns=0x1122334455667788,
    payload_hash=bytes(range(32)),
    payload_size=1234,
    pointer="p/1",
)

# Written from the layout in the module docstring, field by field; not produced by the encoder.
GOLDEN = bytes.fromhex(
    "01"                                    # version
    "06" "766974616c73"                     # kind "vitals"
    "0a" "626564736964652d3037"             # device_id "bedside-07"
    "000000000000002a"                      # seq 42
    "0102030405060708"                      # created_ns
    "1122334455667788"                      # signed_ns
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  # payload_hash
    "00000000000004d2"                      # payload_size 1234
    "0003" "702f31"                         # pointer "p/1"
)

KEY = PrivateKey(b"\x07" * 32)
# Ed25519 is deterministic: this pins the signing context and the encoding together.
GOLDEN_SIGNATURE = bytes.fromhex(
    "2dca05baf399d6d7f84f85685ef400e981f995862c1ffef48ce31e40ce06cdde"
    "93e054eb88d3dc86188a1d300d012d01336eb26611aeb66dd31b0b2d063f5e04")


def test_encoding_is_the_golden_bytes() -> None:
    assert ENVELOPE.encode() == GOLDEN


def test_decoding_the_golden_bytes_gives_the_envelope_back() -> None:
    assert RecordEnvelope.decode(GOLDEN) == ENVELOPE


def test_signature_is_stable_and_covers_context_and_encoding() -> None:
    signed = ENVELOPE.sign(KEY)
    assert signed.signature == GOLDEN_SIGNATURE
    assert KEY.public_key.verify(SIGNING_CONTEXT + GOLDEN, GOLDEN_SIGNATURE)
    assert signed.to_bytes() == GOLDEN + GOLDEN_SIGNATURE
    assert SignedRecord.from_bytes(GOLDEN + GOLDEN_SIGNATURE) == signed
    signed.verify(KEY.public_key)


def test_a_signature_over_the_bare_encoding_is_not_a_record_signature() -> None:
    forged = SignedRecord(ENVELOPE, KEY.sign(GOLDEN))
    with pytest.raises(SignatureInvalid, match="bedside-07#42"):
        forged.verify(KEY.public_key)


@pytest.mark.parametrize("change", [
    {"kind": "emr"}, {"device_id": "bedside-08"}, {"seq": 43}, {"created_ns": 1}, {"signed_ns": 1},
    {"payload_hash": bytes(32)}, {"payload_size": 1235}, {"pointer": "p/2"}, {"pointer": ""},
], ids=lambda change: next(iter(change)))
def test_changing_any_field_breaks_the_signature(change: dict) -> None:
    signature = ENVELOPE.sign(KEY).signature
    tampered = SignedRecord(dataclasses.replace(ENVELOPE, **change), signature)
    with pytest.raises(SignatureInvalid):
        tampered.verify(KEY.public_key)


def test_every_flipped_byte_of_a_signed_record_is_caught() -> None:
    wire = ENVELOPE.sign(KEY).to_bytes()
    for position in range(len(wire)):
        tampered = bytearray(wire)
        tampered[position] ^= 0x01
        with pytest.raises((EnvelopeFormatError, SignatureInvalid)):
            SignedRecord.from_bytes(bytes(tampered)).verify(KEY.public_key)


def test_another_key_does_not_verify() -> None:
    with pytest.raises(SignatureInvalid):
        ENVELOPE.sign(KEY).verify(PrivateKey(b"\x08" * 32).public_key)


@pytest.mark.parametrize(("data", "message"), [
    (GOLDEN + b"\x00", "1 trailing"),
    (GOLDEN[:-1], "truncated in pointer"),
    (GOLDEN[:20], "truncated in fixed fields"),
    (b"", "truncated in version"),
    (b"\x02" + GOLDEN[1:], "version: expected 1, got 2"),
    (GOLDEN[:2] + b"VITALS" + GOLDEN[8:], "kind"),
    (GOLDEN[:1] + b"\x00" + GOLDEN[8:], "kind"),
    (GOLDEN[:9] + "bedside-é".encode()[:10] + GOLDEN[19:], "device_id"),
    (GOLDEN[:19] + b"\x80" + GOLDEN[20:], "seq"),
    (GOLDEN[:-5] + b"\x00\x03p\n1", "pointer"),
    (GOLDEN[:-5] + b"\x00\x02\xff\xfe", "UTF-8"),
])
def test_decoding_is_strict(data: bytes, message: str) -> None:
    with pytest.raises(EnvelopeFormatError, match=message):
        RecordEnvelope.decode(data)


def test_signed_record_needs_exactly_64_signature_bytes() -> None:
    wire = ENVELOPE.sign(KEY).to_bytes()
    for bad in (wire[:-1], wire + b"\x00"):
        with pytest.raises(EnvelopeFormatError, match="64 signature bytes"):
            SignedRecord.from_bytes(bad)
    with pytest.raises(EnvelopeFormatError, match=f"at most {MAX_SIGNED_SIZE}"):
        SignedRecord.from_bytes(wire + bytes(MAX_SIGNED_SIZE))


def test_the_largest_envelope_round_trips_within_the_limit() -> None:
    biggest = dataclasses.replace(ENVELOPE, kind="k" * 32, device_id="d" * 64, pointer="p" * MAX_POINTER,
                                  seq=2**63 - 1, created_ns=2**63 - 1, signed_ns=2**63 - 1, payload_size=2**63 - 1)
    wire = biggest.sign(KEY).to_bytes()
    assert len(wire) == MAX_SIGNED_SIZE
    assert SignedRecord.from_bytes(wire).envelope == biggest


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": ""}, "kind"), ({"kind": "Vitals"}, "kind"), ({"kind": "k" * 33}, "kind"),
    ({"device_id": "-dev"}, "device_id"), ({"device_id": "dev 1"}, "device_id"), ({"device_id": "d" * 65}, "device_id"),
    ({"seq": -1}, "seq"), ({"seq": 2**63}, "seq"), ({"seq": True}, "seq"), ({"created_ns": 1.5}, "created_ns"),
    ({"payload_hash": bytes(31)}, "payload_hash: expected 32 bytes .SHA-256., got 31"),
    ({"pointer": "a\tb"}, "pointer"), ({"pointer": "é" * 513}, "at most 1024 bytes"),
])
def test_construction_refuses_values_the_encoding_cannot_carry(change: dict, message: str) -> None:
    with pytest.raises(EnvelopeFieldError, match=message):
        dataclasses.replace(ENVELOPE, **change)


def test_payload_digest_is_sha256_of_the_stored_bytes() -> None:
    assert payload_digest(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
