"""C2SP tlog-cosignature: a witness's timestamped Ed25519 cosignature, and the k-of-n policy.

Why it lives in ``devices.wire``: the ledger's witnesses produce these lines and the controller
(and any relying party) checks them, so both sides share one definition (ledger.md §3.1)::

    signed message = "cosignature/v1\\n" + "time " + <unix seconds, decimal> + "\\n" + checkpoint body
    signature line = "— " + <witness name> + " " + base64(key ID || timestamp (8 bytes, big endian)
                                                          || Ed25519 signature (64 bytes))
    key ID         = SHA-256(name || 0x0A || 0x04 || public key)[:4]      (type 0x04: cosignature/v1)
    vkey           = <name>+<key ID hex>+base64(0x04 || public key)

The type byte differs from the log's (0x01), so a witness key can never pass for a log key
nor a cosignature for a log signature; the ``cosignature/v1`` prefix separates the signed
messages too. The policy (:func:`require_cosignatures`) follows signed-note's verification
rule: cosignatures from unconfigured keys are ignored, one that fails from a configured witness
rejects the note, and fewer than ``k`` valid ones from distinct witnesses is a refusal naming
who is missing.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from .ed25519 import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, PrivateKey, PublicKey
from .errors import CosignatureInvalid, NoteFormatError, QuorumNotMet
from .note import (
    Checkpoint,
    Note,
    NoteSignature,
    Verifier,
    _check_key_id,
    _split_key,
    _strict_b64,
    check_key_name,
    key_id,
    open_checkpoint,
)

SIG_COSIGNATURE_V1 = 0x04
COSIGNATURE_SIZE = 8 + SIGNATURE_SIZE
MAX_TIMESTAMP = 2**63 - 1


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header lines, then the checkpoint body unchanged."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteFormatError(f"cosignature timestamp: expected an integer in 0..2**63-1, got {timestamp!r}")
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint_text.encode()


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's cosignature/v1 key; fits the note :class:`Verifier` protocol."""

    name: str
    public_key: PublicKey
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        object.__setattr__(self, "key_id", key_id(self.name, SIG_COSIGNATURE_V1, self.public_key.raw))

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        name, id_hex, material = _split_key(vkey, "witness key")
        raw = _strict_b64(material, "witness key")
        if len(raw) != 1 + PUBLIC_KEY_SIZE or raw[0] != SIG_COSIGNATURE_V1:
            raise NoteFormatError(f"witness key: expected type byte 0x04 (cosignature/v1) and {PUBLIC_KEY_SIZE} "
                                  f"key bytes, got {len(raw)} bytes starting {raw[:1].hex() or 'empty'}")
        verifier = cls(name, PublicKey(raw[1:]))
        _check_key_id(verifier.key_id, id_hex, "witness key")
        return verifier

    def vkey(self) -> str:
        material = base64.b64encode(bytes((SIG_COSIGNATURE_V1,)) + self.public_key.raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def timestamp(self, signature: bytes) -> int:
        """The time the witness claims it cosigned at (unverified unless :meth:`verify` passed)."""
        if len(signature) != COSIGNATURE_SIZE:
            raise NoteFormatError(f"cosignature by {self.name}: expected {COSIGNATURE_SIZE} bytes "
                                  f"(timestamp and signature), got {len(signature)}")
        return struct.unpack(">Q", signature[:8])[0]

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != COSIGNATURE_SIZE:
            return False
        timestamp = struct.unpack(">Q", signature[:8])[0]
        if timestamp > MAX_TIMESTAMP:
            return False
        return self.public_key.verify(cosigned_message(text.decode(), timestamp), signature[8:])


@dataclass(frozen=True)
class CosignatureSigner:
    """A witness's cosigning key (an Ed25519 seed, used only under type 0x04)."""

    name: str
    private_key: PrivateKey = field(repr=False)
    verifier: CosignatureVerifier = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verifier", CosignatureVerifier(self.name, self.private_key.public_key))

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    def cosign(self, checkpoint_text: str, timestamp: int) -> NoteSignature:
        """The cosignature line's content for a checkpoint body at ``timestamp`` (unix seconds)."""
        signature = self.private_key.sign(cosigned_message(checkpoint_text, timestamp))
        return NoteSignature(self.name, self.key_id, struct.pack(">Q", timestamp) + signature)


@dataclass(frozen=True)
class Cosigned:
    """A checkpoint that met the policy: who cosigned it, and when each says it did."""

    checkpoint: Checkpoint
    note: Note
    witnesses: tuple[tuple[str, int], ...]  # (witness name, timestamp), in policy order


def require_cosignatures(data: bytes | str, log: Verifier, witnesses: Sequence[CosignatureVerifier], k: int,
                         *, origin: str | None = None) -> Cosigned:
    """Verify the log's signature, then demand valid cosignatures from at least ``k`` of ``witnesses``."""
    if not 1 <= k <= len(witnesses):
        raise ValueError(f"policy: expected 1 <= k <= {len(witnesses)} (the witnesses configured), got {k}")
    checkpoint, note, _ = open_checkpoint(data, log, origin=origin)
    message = note.text.encode()
    valid: dict[CosignatureVerifier, int] = {}
    invalid: list[str] = []
    for sig in note.signatures:
        for witness in witnesses:
            if (sig.name, sig.key_id) != (witness.name, witness.key_id):
                continue
            if witness.verify(message, sig.signature):
                valid[witness] = witness.timestamp(sig.signature)
            else:
                invalid.append(f"{witness.name}+{witness.key_id.hex()}")
    if invalid:
        raise CosignatureInvalid(f"checkpoint {checkpoint.origin}@{checkpoint.tree_size}: cosignature by "
                                 f"{', '.join(invalid)} does not verify: altered checkpoint or wrong key")
    if len(valid) < k:
        missing = [f"{w.name}+{w.key_id.hex()}" for w in witnesses if w not in valid]
        raise QuorumNotMet(f"checkpoint {checkpoint.origin}@{checkpoint.tree_size}: expected valid cosignatures "
                           f"from {k} of {len(witnesses)} witnesses, got {len(valid)}; missing: "
                           f"{', '.join(missing)}")
    return Cosigned(checkpoint, note, tuple((w.name, valid[w]) for w in witnesses if w in valid))
