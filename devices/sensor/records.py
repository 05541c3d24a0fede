"""A frame becomes a record: FHIR payload → AES-GCM ciphertext → envelope naming it → Ed25519 signature.

The ciphertext is ``nonce (12 bytes) || AES-256-GCM(plaintext)`` with the associated data
``device_id#seq``, so a payload cannot be passed off as another record's. The envelope's
``payload_hash`` is the SHA-256 of exactly these bytes, as devices/wire/envelope.py requires.
The pointer stays empty: the edge payload store is content-addressed by that hash.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from devices.wire import PrivateKey, RecordEnvelope, payload_digest

from .observations import Observation
from .queue import Built

NONCE_SIZE = 12
PAYLOAD_KEY_SIZE = 32


@dataclass(frozen=True)
class Frame:
    """One scheduled capture: who, which frame, its first sample, when, and what was observed."""

    device_id: str
    kind: str
    frame: int
    sample_index: int
    capture_ns: int
    observations: tuple[Observation, ...]

    def document(self, seq: int) -> dict[str, object]:
        return {"device_id": self.device_id, "kind": self.kind, "seq": seq, "frame": self.frame,
                "sample_index": self.sample_index, "capture_ns": self.capture_ns,
                "observations": [o.to_fhir() for o in self.observations]}


def associated_data(device_id: str, seq: int) -> bytes:
    return f"{device_id}#{seq}".encode()


def seal(key: bytes, device_id: str, seq: int, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data(device_id, seq))


def open_sealed(key: bytes, device_id: str, seq: int, ciphertext: bytes) -> bytes:
    """Inverse of :func:`seal`; raises ``cryptography.exceptions.InvalidTag`` if anything was altered."""
    nonce, body = ciphertext[:NONCE_SIZE], ciphertext[NONCE_SIZE:]
    return AESGCM(key).decrypt(nonce, body, associated_data(device_id, seq))


def build_record(frame: Frame, seq: int, signing_key: PrivateKey, payload_key: bytes) -> Built:
    plaintext = json.dumps(frame.document(seq), separators=(",", ":")).encode()
    ciphertext = seal(payload_key, frame.device_id, seq, plaintext)
    digest = payload_digest(ciphertext)
    envelope = RecordEnvelope(f"vitals.{frame.kind}", frame.device_id, seq, frame.capture_ns, time.time_ns(),
                              digest, len(ciphertext))
    return Built(envelope.sign(signing_key).to_bytes(), digest, ciphertext)
