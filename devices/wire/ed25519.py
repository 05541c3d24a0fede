"""Ed25519 keys as raw bytes (RFC 8032), the one signature scheme of records and notes.

Backed by PyNaCl (libsodium) rather than ``cryptography`` (OpenSSL): on this project's 2-core
reference VM libsodium verifies about twice as fast (≈ 23k against ≈ 11k verifies/s per core,
ledger.md §5.2; re-measured here with the same ratio), and signature checks sit on the
ledger's ingest path. Keys travel as 32 raw bytes; nothing else in ``devices.wire`` touches
the library, so the backend can change without touching a caller.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

PUBLIC_KEY_SIZE = 32
SEED_SIZE = 32
SIGNATURE_SIZE = 64


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (32 bytes)."""

    raw: bytes
    _key: nacl.signing.VerifyKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != PUBLIC_KEY_SIZE:
            got = len(self.raw) if isinstance(self.raw, bytes) else type(self.raw).__name__
            raise ValueError(f"Ed25519 public key: expected {PUBLIC_KEY_SIZE} bytes, got {got}")
        object.__setattr__(self, "_key", nacl.signing.VerifyKey(self.raw))

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's signature over ``message``."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            self._key.verify(message, signature)
        except nacl.exceptions.BadSignatureError:
            return False
        return True


@dataclass(frozen=True)
class PrivateKey:
    """An Ed25519 private key, kept as its 32-byte seed (the form RFC 8032 and C2SP use)."""

    seed: bytes = field(repr=False)
    _key: nacl.signing.SigningKey = field(init=False, repr=False, compare=False)
    public_key: PublicKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != SEED_SIZE:
            raise ValueError(f"Ed25519 seed: expected {SEED_SIZE} bytes")
        key = nacl.signing.SigningKey(self.seed)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "public_key", PublicKey(bytes(key.verify_key)))

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(secrets.token_bytes(SEED_SIZE))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature over ``message`` (deterministic, as RFC 8032 specifies)."""
        return self._key.sign(message).signature
