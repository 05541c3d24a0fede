"""A naive RFC 9162 reference for the device-side suites: the §2.1 definitions, recursively.

Deliberately the slow, literal reading of the RFC (MTH, PATH, PROOF/SUBPROOF over lists of
leaf hashes), so that the verifier in ``devices.wire.merkle`` and the proof generator in
``devices.edge.ledger`` are both checked against something that shares no code with them.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH over leaf hashes (the leaf hashing is left to the caller)."""
    if not leaves:
        return _sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""

    def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
        if m == len(d):
            return [] if b else [mth(d)]
        k = _split(len(d))
        if m <= k:
            return subproof(m, d[:k], b) + [mth(d[k:])]
        return subproof(m - k, d[k:], False) + [mth(d[:k])]

    return subproof(m, leaves, True)


@pytest.fixture(scope="session")
def rfc() -> SimpleNamespace:
    """The reference functions, plus ``leaf(data)`` = SHA-256(0x00 || data)."""
    return SimpleNamespace(mth=mth, path=path, proof=proof, leaf=lambda data: _sha(b"\x00" + data))
