"""C2SP signed notes and checkpoints: how the ledger's tree heads travel and get cosigned.

Formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint)::

    <origin>                          checkpoint body = the note text: origin line,
    <tree size, decimal>              tree size without leading zeros,
    <root hash, base64>               RFC 9162 root (32 bytes, standard base64),
    [extension lines]                 optional, non-empty
                                      blank line, then one line per signature:
    — <key name> <base64(key ID || signature)>

    key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
    vkey   = <name>+<key ID hex>+<base64(type || public key)>            (verifier key)
    skey   = PRIVATE+KEY+<name>+<key ID hex>+<base64(type || seed)>       (signer key)

Parsing is strict: UTF-8 only, no control characters but newline, canonical base64, names
without spaces or ``+``. Verification follows the spec: signatures from unknown keys are
ignored, a known key whose signature fails rejects the whole note, and a note with no
verified signature from a known key is rejected. Only Ed25519 (type 0x01) is implemented
here; cosignature verifiers (type 0x04) fit the same :class:`Verifier` protocol.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .ed25519 import PUBLIC_KEY_SIZE, SEED_SIZE, PrivateKey, PublicKey
from .errors import NoteFormatError, NoteSignatureInvalid, NoteUnverified, OriginMismatch
from .merkle import HASH_SIZE

SIG_ED25519 = 0x01
EM_DASH = "\u2014"
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
MAX_NOTE_SIZE = 256 * 1024
MAX_TREE_SIZE = 2**63 - 1

_SIGNER_PREFIX = "PRIVATE+KEY+"
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # every ASCII control character but newline
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID the spec recommends: it ties a signature line to (name, type, key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes((signature_type,)) + public_key).digest()[:4]


def check_key_name(name: str) -> str:
    """A key name is non-empty and has no Unicode space and no ``+``; returned unchanged."""
    if not isinstance(name, str) or not name:
        raise NoteFormatError(f"key name: expected non-empty text, got {name!r}")
    bad = [ch for ch in name if ch == "+" or ch.isspace() or unicodedata.category(ch) in ("Zs", "Cc")]
    if bad:
        raise NoteFormatError(f"key name {name!r}: expected no spaces, control characters or '+', got {bad[0]!r}")
    return name


class Verifier(Protocol):
    """Checks one key's signatures; matched to a signature line by (name, key ID)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: who signed (name, key ID) and the algorithm's signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A note text (ending in newline) and its signatures, as parsed: nothing verified yet."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        return (self.text + "\n" + "".join(sig.line() for sig in self.signatures)).encode()


@dataclass(frozen=True)
class Ed25519Verifier:
    """An Ed25519 note key (type 0x01), usually read from its vkey text."""

    name: str
    public_key: PublicKey
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        object.__setattr__(self, "key_id", key_id(self.name, SIG_ED25519, self.public_key.raw))

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        name, id_hex, material = _split_key(vkey, "verifier key")
        raw = _key_material(material, PUBLIC_KEY_SIZE, "verifier key")
        verifier = cls(name, PublicKey(raw))
        _check_key_id(verifier.key_id, id_hex, "verifier key")
        return verifier

    def vkey(self) -> str:
        material = base64.b64encode(bytes((SIG_ED25519,)) + self.public_key.raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        return self.public_key.verify(text, signature)


@dataclass(frozen=True)
class Ed25519Signer:
    """An Ed25519 note signing key; the skey text is its file format."""

    name: str
    private_key: PrivateKey = field(repr=False)
    verifier: Ed25519Verifier = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verifier", Ed25519Verifier(self.name, self.private_key.public_key))

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(check_key_name(name), PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519Signer:
        if not isinstance(skey, str) or not skey.startswith(_SIGNER_PREFIX):
            raise NoteFormatError(f"signer key: expected text starting {_SIGNER_PREFIX!r}")
        name, id_hex, material = _split_key(skey[len(_SIGNER_PREFIX):], "signer key")
        signer = cls(name, PrivateKey(_key_material(material, SEED_SIZE, "signer key")))
        _check_key_id(signer.key_id, id_hex, "signer key")
        return signer

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    def skey(self) -> str:
        material = base64.b64encode(bytes((SIG_ED25519,)) + self.private_key.seed).decode()
        return f"{_SIGNER_PREFIX}{self.name}+{self.key_id.hex()}+{material}"

    def sign(self, text: bytes) -> NoteSignature:
        return NoteSignature(self.name, self.key_id, self.private_key.sign(text))


def parse_note(data: bytes | str) -> Note:
    """Split a signed note into text and signature lines, refusing anything malformed."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_NOTE_SIZE:
        raise NoteFormatError(f"note: expected at most {MAX_NOTE_SIZE} bytes, got {len(raw)}")
    try:
        whole = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteFormatError(f"note: expected UTF-8, got an invalid byte at offset {exc.start}") from None
    _check_text(whole, "note")
    split = whole.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("note: expected a blank line between the text and the signatures, found none")
    text, block = whole[: split + 1], whole[split + 2:]
    if not block:
        raise NoteFormatError("note: expected at least one signature line after the blank line, got none")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"note: expected at most {MAX_SIGNATURES} signatures, got {len(lines)}")
    return Note(text, tuple(_parse_signature_line(line, number) for number, line in enumerate(lines, 1)))


def sign_note(text: str, signers: Iterable[Ed25519Signer]) -> Note:
    """Sign ``text`` (which must end in a newline) with every signer, in order."""
    _check_text(text, "note text")
    message = text.encode()
    signatures = tuple(signer.sign(message) for signer in signers)
    if not signatures:
        raise ValueError("sign_note needs at least one signer")
    return Note(text, signatures)


def open_note(data: bytes | str | Note, verifiers: Sequence[Verifier]) -> tuple[Note, tuple[Verifier, ...]]:
    """Parse and verify; returns the note and the verifiers whose signatures checked out."""
    note = data if isinstance(data, Note) else parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    message = note.text.encode()
    verified: list[Verifier] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue  # the spec: ignore unknown keys, even ones sharing a name or an ID
        if not verifier.verify(message, sig.signature):
            raise NoteSignatureInvalid(f"signature by {sig.name} (key ID {sig.key_id.hex()}) does not verify "
                                       "over the note text: the note was altered or signed by another key")
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        want = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in verifiers) or "none"
        got = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures)
        raise NoteUnverified(f"note: expected a signature by one of [{want}], got only [{got}]")
    return note, tuple(verified)


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head as C2SP tlog-checkpoint note text."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise NoteFormatError(f"checkpoint origin: expected one non-empty line, got {self.origin!r}")
        if isinstance(self.tree_size, bool) or not isinstance(self.tree_size, int) \
                or not 0 <= self.tree_size <= MAX_TREE_SIZE:
            raise NoteFormatError(f"checkpoint tree size: expected an integer in 0..2**63-1, got {self.tree_size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            got = len(self.root_hash) if isinstance(self.root_hash, bytes) else type(self.root_hash).__name__
            raise NoteFormatError(f"checkpoint root hash: expected {HASH_SIZE} bytes, got {got}")
        for line in self.extensions:
            if not isinstance(line, str) or not line or "\n" in line or _CONTROL.search(line):
                raise NoteFormatError(f"checkpoint extension: expected one non-empty line, got {line!r}")

    def to_text(self) -> str:
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise NoteFormatError("checkpoint: expected the text to end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteFormatError(f"checkpoint: expected at least 3 lines (origin, size, root), got {len(lines)}")
        origin, size, root, *extensions = lines
        if not _DECIMAL.fullmatch(size):
            raise NoteFormatError(f"checkpoint tree size: expected a decimal without leading zeros, got {size!r}")
        if int(size) > MAX_TREE_SIZE:
            raise NoteFormatError(f"checkpoint tree size: expected at most 2**63-1, got {size}")
        return cls(origin, int(size), _strict_b64(root, "checkpoint root hash"), tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Ed25519Signer) -> bytes:
    """The checkpoint as a signed note, ready to serve."""
    return sign_note(checkpoint.to_text(), [signer]).to_bytes()


def open_checkpoint(data: bytes | str, log: Verifier, *, origin: str | None = None,
                    others: Sequence[Verifier] = ()) -> tuple[Checkpoint, Note, tuple[Verifier, ...]]:
    """Verify a checkpoint signed by ``log`` (plus any of ``others``, e.g. witnesses).

    The log's own signature is required; ``origin`` defaults to the log key's name, which
    the spec says the origin line should match.
    """
    note, verified = open_note(data, [log, *others])
    if log not in verified:
        raise NoteUnverified(f"checkpoint: expected a signature by the log key {log.name}+{log.key_id.hex()}, "
                             f"got only {[v.name for v in verified]}")
    checkpoint = Checkpoint.from_text(note.text)
    expected = log.name if origin is None else origin
    if checkpoint.origin != expected:
        raise OriginMismatch(f"checkpoint origin: expected {expected!r}, got {checkpoint.origin!r}")
    return checkpoint, note, verified


def _check_text(text: str, what: str) -> None:
    if not text.endswith("\n"):
        raise NoteFormatError(f"{what}: expected to end in a newline")
    bad = _CONTROL.search(text)
    if bad:
        raise NoteFormatError(f"{what}: expected no control characters but newline, got {bad.group()!r} "
                              f"at offset {bad.start()}")


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    where = f"signature line {number}"
    if not line.startswith(EM_DASH + " "):
        raise NoteFormatError(f"{where}: expected to start with an em dash (U+2014) and a space, got {line[:12]!r}")
    parts = line[2:].split(" ")
    if len(parts) != 2:
        raise NoteFormatError(f"{where}: expected '{EM_DASH} <key name> <base64>', got {line!r}")
    name, encoded = check_key_name(parts[0]), parts[1]
    raw = _strict_b64(encoded, where)
    if len(raw) < 5:
        raise NoteFormatError(f"{where}: expected a 4-byte key ID and a signature, got {len(raw)} bytes")
    return NoteSignature(name, raw[:4], raw[4:])


def _strict_b64(value: str, what: str) -> bytes:
    """Standard base64 with padding, and only the one canonical spelling of each value."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NoteFormatError(f"{what}: expected standard base64, got {value!r}") from None
    if base64.b64encode(raw).decode() != value:
        raise NoteFormatError(f"{what}: expected canonical base64, got {value!r}")
    return raw


def _split_key(text: str, what: str) -> tuple[str, str, str]:
    parts = text.split("+", 2) if isinstance(text, str) else []
    if len(parts) != 3:
        raise NoteFormatError(f"{what}: expected <name>+<key ID hex>+<base64 key>, got {text!r}")
    name, id_hex, material = parts
    check_key_name(name)
    if not _KEY_ID_HEX.fullmatch(id_hex):
        raise NoteFormatError(f"{what} {name}: expected an 8-digit lowercase hex key ID, got {id_hex!r}")
    return name, id_hex, material


def _key_material(material: str, size: int, what: str) -> bytes:
    raw = _strict_b64(material, what)
    if len(raw) != 1 + size or raw[0] != SIG_ED25519:
        raise NoteFormatError(f"{what}: expected type byte 0x01 (Ed25519) and {size} key bytes, "
                              f"got {len(raw)} bytes starting {raw[:1].hex() or 'empty'}")
    return raw[1:]


def _check_key_id(actual: bytes, id_hex: str, what: str) -> None:
    if actual.hex() != id_hex:
        raise NoteFormatError(f"{what}: key ID in the text is {id_hex}, the key's own ID is {actual.hex()}")
