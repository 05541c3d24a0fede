"""The ledger node without its transport: admit signed records, sign checkpoints.

Admission checks run in the caller's thread (parse, enrolled key, Ed25519 signature), so
several requests verify at once; only records that pass reach the store, as one transaction
per call, where the per-device sequence check happens in commit order. Each record gets its
own outcome: an acknowledgement (index, committed tree size and block height) or a refusal with the HTTP
status it maps to.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from devices.wire import Checkpoint, Ed25519Signer, PublicKey, SignedRecord, sign_checkpoint
from devices.wire.errors import EnvelopeError, SignatureInvalid

from .errors import SequenceError
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
    holds for the device, so a client need not parse the reason.
    """

    status: int
    reason: str
    last_seq: int | None = None


class LedgerNode:
    """Verifies device records and appends them to ``store``; signs its checkpoints."""

    def __init__(self, store: LedgerStore, signer: Ed25519Signer, devices: Mapping[str, PublicKey]) -> None:
        self.store = store
        self.signer = signer
        self.devices = dict(devices)
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
            appended = self.store.append_many([Append(wire, record.envelope.device_id, record.envelope.seq)
                                               for _, record, wire in admitted])
            for (position, record, _), result in zip(admitted, appended, strict=True):
                outcomes[position] = self._outcome(record, result)
        return [outcome for outcome in outcomes if outcome is not None]

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
            return Refused(400, f"malformed record: {exc}")
        key = self.devices.get(record.envelope.device_id)
        if key is None:
            return Refused(403, f"device {record.envelope.device_id!r} is not enrolled on this ledger")
        try:
            record.verify(key)
        except SignatureInvalid as exc:
            return Refused(403, str(exc))
        return record

    @staticmethod
    def _outcome(record: SignedRecord, result: Appended | SequenceError) -> Accepted | Refused:
        if isinstance(result, SequenceError):
            return Refused(409, str(result), result.last_seq)
        return Accepted(result.index, result.tree_size, result.block, record.envelope.device_id,
                        record.envelope.seq)
