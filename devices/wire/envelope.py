"""The record envelope: what a device signs and the ledger anchors, and its one byte encoding.

A record (a vital-sign batch, an EMR document, an e-prescription, a waste-traceability event)
stays off-chain, encrypted; the chain holds this envelope, which names the record by hash.

Canonical encoding, version 1. Integers are unsigned big-endian; every variable field carries
its length first, so the bytes parse one way only and each value has one encoding::

    size  field
    1     version          0x01
    1     kind length      1..32
    k     kind             ASCII, [a-z][a-z0-9._-]*     ("vitals.ecg", "emr.document", "rx.prescription")
    1     device length    1..64
    d     device_id        ASCII, [A-Za-z0-9][A-Za-z0-9._:-]*
    8     seq              per-device sequence number, strictly increasing (anti-replay)
    8     created_ns       when the device made the record, ns since the Unix epoch
    8     signed_ns        when the device signed the envelope, ns since the Unix epoch
    32    payload_hash     SHA-256 of the off-chain payload exactly as stored (ciphertext)
    8     payload_size     length of that payload in bytes
    2     pointer length   0..1024
    p     pointer          UTF-8 locator of the payload, no control characters; may be empty
                           (the edge payload store is content-addressed by payload_hash)

64-bit fields are limited to 0..2**63-1 so that SQLite and other signed-integer stores hold
them unchanged. The device signs ``SIGNING_CONTEXT || encoding`` with Ed25519; the context
string keeps a device key's record signatures from being replayed as any other signed
message. A signed record on the wire, and as a ledger leaf, is ``encoding || signature``
(64 bytes); the encoding delimits itself, so the signature is exactly what follows it.
A later layout gets a new version byte; a decoder refuses versions it does not know.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from typing import ClassVar

from .ed25519 import SIGNATURE_SIZE, PrivateKey, PublicKey
from .errors import EnvelopeFieldError, EnvelopeFormatError, SignatureInvalid

VERSION = 1
SIGNING_CONTEXT = b"hil-ledger/record-envelope/v1\n"
MAX_KIND = 32
MAX_DEVICE_ID = 64
MAX_POINTER = 1024
MAX_INT = 2**63 - 1
PAYLOAD_HASH_SIZE = 32
MAX_ENCODED_SIZE = 1 + 1 + MAX_KIND + 1 + MAX_DEVICE_ID + 3 * 8 + PAYLOAD_HASH_SIZE + 8 + 2 + MAX_POINTER
MAX_SIGNED_SIZE = MAX_ENCODED_SIZE + SIGNATURE_SIZE

_KIND = re.compile(r"[a-z][a-z0-9._-]*")
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FIXED = struct.Struct(">QQQ32sQ")  # seq, created_ns, signed_ns, payload_hash, payload_size


def is_device_id(value: object) -> bool:
    """Whether ``value`` can be an envelope's ``device_id`` (enrolment files check with this)."""
    return isinstance(value, str) and len(value) <= MAX_DEVICE_ID and bool(_DEVICE_ID.fullmatch(value))


def payload_digest(payload: bytes) -> bytes:
    """The ``payload_hash`` of an off-chain payload (its stored, encrypted bytes)."""
    return hashlib.sha256(payload).digest()


@dataclass(frozen=True)
class RecordEnvelope:
    """One record as its device describes it; validated on construction, so it always encodes."""

    kind: str
    device_id: str
    seq: int
    created_ns: int
    signed_ns: int
    payload_hash: bytes
    payload_size: int
    pointer: str = ""

    _INTS: ClassVar[tuple[str, ...]] = ("seq", "created_ns", "signed_ns", "payload_size")

    def __post_init__(self) -> None:
        _check_token("kind", self.kind, _KIND, MAX_KIND)
        _check_token("device_id", self.device_id, _DEVICE_ID, MAX_DEVICE_ID)
        for name in self._INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
                raise EnvelopeFieldError(f"{name}: expected an integer in 0..2**63-1, got {value!r}")
        if not isinstance(self.payload_hash, bytes) or len(self.payload_hash) != PAYLOAD_HASH_SIZE:
            got = len(self.payload_hash) if isinstance(self.payload_hash, bytes) else type(self.payload_hash).__name__
            raise EnvelopeFieldError(f"payload_hash: expected {PAYLOAD_HASH_SIZE} bytes (SHA-256), got {got}")
        if not isinstance(self.pointer, str) or _CONTROL.search(self.pointer):
            raise EnvelopeFieldError(f"pointer: expected text without control characters, got {self.pointer!r}")
        if len(self.pointer.encode()) > MAX_POINTER:
            raise EnvelopeFieldError(f"pointer: expected at most {MAX_POINTER} bytes of UTF-8, "
                                     f"got {len(self.pointer.encode())}")

    def encode(self) -> bytes:
        """The canonical encoding (module docstring): the bytes a device signs."""
        kind, device, pointer = self.kind.encode(), self.device_id.encode(), self.pointer.encode()
        return b"".join((
            bytes((VERSION, len(kind))), kind,
            bytes((len(device),)), device,
            _FIXED.pack(self.seq, self.created_ns, self.signed_ns, self.payload_hash, self.payload_size),
            len(pointer).to_bytes(2, "big"), pointer,
        ))

    @classmethod
    def decode(cls, data: bytes) -> RecordEnvelope:
        """Parse exactly one canonical encoding; trailing bytes are an error."""
        envelope, end = cls._decode_prefix(data)
        if end != len(data):
            raise EnvelopeFormatError(f"envelope: expected {end} bytes, got {len(data)} ({len(data) - end} trailing)")
        return envelope

    @classmethod
    def _decode_prefix(cls, data: bytes) -> tuple[RecordEnvelope, int]:
        reader = _Reader(bytes(data))
        version = reader.take(1, "version")[0]
        if version != VERSION:
            raise EnvelopeFormatError(f"envelope version: expected {VERSION}, got {version}")
        kind = reader.text(reader.take(1, "kind length")[0], "kind", ascii_only=True)
        device = reader.text(reader.take(1, "device_id length")[0], "device_id", ascii_only=True)
        seq, created, signed, digest, size = _FIXED.unpack(reader.take(_FIXED.size, "fixed fields"))
        pointer = reader.text(int.from_bytes(reader.take(2, "pointer length"), "big"), "pointer")
        try:
            envelope = cls(kind, device, seq, created, signed, digest, size, pointer)
        except EnvelopeFieldError as exc:
            raise EnvelopeFormatError(f"envelope field out of range: {exc}") from None
        return envelope, reader.offset

    def signing_message(self) -> bytes:
        return SIGNING_CONTEXT + self.encode()

    def sign(self, key: PrivateKey) -> SignedRecord:
        return SignedRecord(self, key.sign(self.signing_message()))


@dataclass(frozen=True)
class SignedRecord:
    """An envelope with its device's signature: the unit devices send and the ledger stores."""

    envelope: RecordEnvelope
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_SIZE:
            got = len(self.signature) if isinstance(self.signature, bytes) else type(self.signature).__name__
            raise EnvelopeFieldError(f"signature: expected {SIGNATURE_SIZE} bytes, got {got}")

    def to_bytes(self) -> bytes:
        """``encoding || signature``: the wire form and the ledger leaf."""
        return self.envelope.encode() + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedRecord:
        if len(data) > MAX_SIGNED_SIZE:
            raise EnvelopeFormatError(f"signed record: expected at most {MAX_SIGNED_SIZE} bytes, got {len(data)}")
        envelope, end = RecordEnvelope._decode_prefix(data)
        if len(data) - end != SIGNATURE_SIZE:
            raise EnvelopeFormatError(f"signed record: expected {SIGNATURE_SIZE} signature bytes after the "
                                      f"{end}-byte envelope, got {len(data) - end}")
        return cls(envelope, bytes(data[end:]))

    def verify(self, key: PublicKey) -> None:
        """Raise :class:`SignatureInvalid` unless ``key`` signed this envelope."""
        if not key.verify(self.envelope.signing_message(), self.signature):
            raise SignatureInvalid(f"record {self.envelope.device_id}#{self.envelope.seq}: signature does not "
                                   f"verify under key {key.raw.hex()[:16]}…")


class _Reader:
    """Consumes a byte string front to back, naming the field when it runs short."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, count: int, what: str) -> bytes:
        end = self.offset + count
        if end > len(self.data):
            raise EnvelopeFormatError(f"envelope truncated in {what}: expected {count} bytes at offset "
                                      f"{self.offset}, got {len(self.data) - self.offset}")
        chunk, self.offset = self.data[self.offset:end], end
        return chunk

    def text(self, count: int, what: str, ascii_only: bool = False) -> str:
        raw = self.take(count, what)
        try:
            return raw.decode("ascii" if ascii_only else "utf-8")
        except UnicodeDecodeError:
            raise EnvelopeFormatError(f"{what}: expected {'ASCII' if ascii_only else 'UTF-8'} text, "
                                      f"got {raw!r}") from None


def _check_token(name: str, value: object, pattern: re.Pattern[str], limit: int) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > limit:
        raise EnvelopeFieldError(f"{name}: expected 1..{limit} characters matching {pattern.pattern}, got {value!r}")
