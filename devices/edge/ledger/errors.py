"""Why the ledger node refused a request or will not start; messages say expected vs got."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal by the ledger node."""


class StoreCorrupt(LedgerError):
    """The database does not hold a log this code wrote: refuse to serve from it."""


class StoreClosed(LedgerError):
    """The store was closed; nothing more is accepted."""


class StoreFailed(LedgerError):
    """A COMMIT failed, so the outcome of a batch is unknown; no more appends until a restart."""


class SequenceError(LedgerError):
    """A device's sequence number did not increase: a replay, or records sent out of order."""

    def __init__(self, message: str, last_seq: int) -> None:
        super().__init__(message)
        self.last_seq = last_seq  # the highest sequence number the ledger holds for the device


class OutOfRange(LedgerError):
    """An entry, proof or tree size asked for lies beyond the log as committed."""
