"""The edge ledger node: a verifiable, durable log of device-signed medical records.

- :mod:`.tree`: which Merkle hashes are stored and which ones a proof needs (pure).
- :mod:`.schema`: the SQLite file, its append-only triggers and connection settings.
- :mod:`.commit`: group commit, many appends per durable transaction.
- :mod:`.blocks`: sealing each committed batch into a signed, hash-chained block.
- :mod:`.store`: :class:`LedgerStore`, appends, blocks, reads and RFC 9162 proofs.
- :mod:`.payloads`: the content-addressed off-chain payload files.
- :mod:`.verify`: the offline audit of a data directory (``verify`` command).
- :mod:`.enrolment`: which devices may write (device id -> Ed25519 key), the initial file.
- :mod:`.registry`: enrolments and revocations made over the admin API, durable in SQLite.
- :mod:`.admin`: Ed25519-signed admin requests: the node's check and the client helper.
- :mod:`.kinds`: the accepted record kinds and their on-chain checks (size, pointer).
- :mod:`.metrics`: counters for ``GET /v1/metrics`` (Prometheus text).
- :mod:`.node`: admission (envelope, kind, enrolment, signature), revocation, signed checkpoints.
- :mod:`.witness`: C2SP tlog-witness for peer logs: durable last-cosigned state, fork evidence.
- :mod:`.submitter`: the log side: submit checkpoints to witnesses, keep the quorum-cosigned one.
- :mod:`.service`: the HTTP API (openapi.yaml); ``python -m devices.edge.ledger serve`` runs it.
"""

from .errors import LedgerError, OutOfRange, SequenceError, StoreClosed, StoreCorrupt, StoreFailed
from .store import Append, Appended, LedgerStore, TreeHead

__all__ = [
    "Append",
    "Appended",
    "LedgerError",
    "LedgerStore",
    "OutOfRange",
    "SequenceError",
    "StoreClosed",
    "StoreCorrupt",
    "StoreFailed",
    "TreeHead",
]
