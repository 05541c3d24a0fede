"""The ledger node without its transport: admit signed records, sign checkpoints, enrol and revoke.

Admission checks run in the caller's thread (parse, kind, enrolled key, Ed25519 signature), so
several requests verify at once; only records that pass reach the store, as one transaction
per call, where the per-device sequence check happens in commit order. Each record gets its
own outcome: an acknowledgement (index, committed tree size and block height) or a refusal with the HTTP
status it maps to.

Revocation is ordered against admission by ``_gate``: a record is handed to the store only
while its device is still enrolled, under the lock, and a revocation takes the device out
under the same lock and then waits for an empty barrier through the store's FIFO writer. The
log size after the barrier is therefore a point below which every record of the device
lies; verify.py checks exactly that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from devices.wire import Checkpoint, Ed25519Signer, PublicKey, SignedRecord, sign_checkpoint
from devices.wire.errors import EnvelopeError, SignatureInvalid

from .errors import SequenceError
from .kinds import KindRefused, check_kind
from .metrics import Metrics
from .registry import Registry, Revocation
from .store import Append, Appended, LedgerStore

MAX_RECORDS_PER_CALL = 1000


@dataclass(frozen=True)
class Accepted:
    """A durable record: its leaf index, the tree size and the block it was committed with."""

    index: int
    tree_size: int
    block: int
    device_id: str
    seq: int


@dataclass(frozen=True)
class Refused:
    """A record that was not appended; ``status`` is the HTTP status to answer with.

    ``last_seq`` is set on a sequence refusal (409): the highest sequence number the ledger
    holds for the device, so a client need not parse the reason. ``code`` is the short reason
    metrics count by (malformed, unknown_kind, too_large, bad_pointer, not_enrolled, revoked,
    signature, sequence).
    """

    status: int
    reason: str
    last_seq: int | None = None
    code: str = ""


class _StaticRegistry:
    """The enrolment of a node built without a database (tests, benches): fixed, no revocation."""

    def __init__(self, devices: Mapping[str, PublicKey]) -> None:
        self._devices = dict(devices)

    def key(self, device: str) -> PublicKey | None:
        return self._devices.get(device)

    def revocation(self, device: str) -> Revocation | None:
        return None

    def is_revoked(self, device: str) -> bool:
        return False


class LedgerNode:
    """Verifies device records and appends them to ``store``; signs its checkpoints."""

    def __init__(self, store: LedgerStore, signer: Ed25519Signer, devices: Mapping[str, PublicKey],
                 registry: Registry | None = None, metrics: Metrics | None = None) -> None:
        self.store = store
        self.signer = signer
        self.registry: Registry | _StaticRegistry = registry if registry is not None else _StaticRegistry(devices)
        self.metrics = metrics if metrics is not None else Metrics()
        self._gate = threading.Lock()
        self._checkpoint_lock = threading.Lock()
        self._checkpoint: tuple[int, bytes] = (-1, b"")

    @property
    def origin(self) -> str:
        return self.signer.name

    def add_records(self, wires: Sequence[bytes]) -> list[Accepted | Refused]:
        """Admit each signed record; those that pass are appended in one durable transaction."""
        if len(wires) > MAX_RECORDS_PER_CALL:
            raise ValueError(f"records: expected at most {MAX_RECORDS_PER_CALL} per call, got {len(wires)}")
        outcomes: list[Accepted | Refused | None] = []
        admitted: list[tuple[int, SignedRecord, bytes]] = []
        for position, wire in enumerate(wires):
            checked = self._admit(wire)
            if isinstance(checked, Refused):
                outcomes.append(checked)
            else:
                outcomes.append(None)
                admitted.append((position, checked, wire))
        if admitted:
            started = time.perf_counter()
            with self._gate:  # only still-enrolled devices reach the store (module docstring)
                kept = []
                for position, record, wire in admitted:
                    if self.registry.key(record.envelope.device_id) is None:
                        outcomes[position] = self._revoked(record.envelope.device_id)
                    else:
                        kept.append((position, record, wire))
                future = self.store.submit([Append(wire, record.envelope.device_id, record.envelope.seq)
                                            for _, record, wire in kept]) if kept else None
            if future is not None:
                appended = future.result()
                self.metrics.committed(time.perf_counter() - started)
                for (position, record, _), result in zip(kept, appended, strict=True):
                    outcomes[position] = self._outcome(record, result)
        final = [outcome for outcome in outcomes if outcome is not None]
        self.metrics.outcomes(final)
        return final

    def revoke(self, device: str) -> Revocation:
        """Refuse ``device``'s new records; its committed ones stay valid. Idempotent."""
        with self._gate:
            assert isinstance(self.registry, Registry), "revocation needs a node built with a Registry"
            key = self.registry.begin_revoke(device)
            barrier: Future[list[Appended | SequenceError]] | None = self.store.submit([]) if key else None
        if key is None or barrier is None:
            revocation = self.registry.revocation(device)
            assert revocation is not None
            return revocation
        barrier.result()  # every record admitted before the revocation is now committed
        return self.registry.finish_revoke(device, key, self.store.size, time.time_ns())

    def checkpoint(self) -> bytes:
        """The current tree head as a signed C2SP checkpoint; signed once per tree size."""
        head = self.store.head()
        with self._checkpoint_lock:
            if self._checkpoint[0] != head.size:
                note = sign_checkpoint(Checkpoint(self.origin, head.size, head.root), self.signer)
                self._checkpoint = (head.size, note)
            return self._checkpoint[1]

    def _admit(self, wire: bytes) -> SignedRecord | Refused:
        try:
            record = SignedRecord.from_bytes(wire)
        except EnvelopeError as exc:
            return Refused(400, f"malformed record: {exc}", code="malformed")
        try:
            check_kind(record.envelope)
        except KindRefused as exc:
            return Refused(400, str(exc), code=str(exc).partition(":")[0])
        device = record.envelope.device_id
        key = self.registry.key(device)
        if key is None:
            if self.registry.is_revoked(device):
                return self._revoked(device)
            return Refused(403, f"device {device!r} is not enrolled on this ledger", code="not_enrolled")
        try:
            record.verify(key)
        except SignatureInvalid as exc:
            return Refused(403, str(exc), code="signature")
        return record

    def _revoked(self, device: str) -> Refused:
        revocation = self.registry.revocation(device)
        where = f" at tree size {revocation.tree_size}" if revocation is not None else ""
        return Refused(403, f"revoked: device {device!r} was revoked{where}; new records are refused",
                       code="revoked")

    @staticmethod
    def _outcome(record: SignedRecord, result: Appended | SequenceError) -> Accepted | Refused:
        if isinstance(result, SequenceError):
            return Refused(409, str(result), result.last_seq, code="sequence")
        return Accepted(result.index, result.tree_size, result.block, record.envelope.device_id,
                        record.envelope.seq)
