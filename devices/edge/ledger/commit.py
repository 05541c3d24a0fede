"""Group commit: one writer thread turns many concurrent appends into few durable transactions.

With ``synchronous=FULL`` every COMMIT costs an fsync, and a disk does a few thousand of
those a second (ledger.md §5.3: 3 270 single-row commits/s). Callers therefore hand their
items to :class:`GroupCommitter` and wait on a future; the writer takes everything queued
(up to ``max_batch`` items), lets ``apply`` write and commit it as one transaction, and only
then resolves each caller's future. Under load, batches grow by themselves while the previous
fsync runs; ``linger`` can hold a batch open a little longer to trade latency for fewer
fsyncs. A caller's items are never split across transactions, and callers are served in
arrival order, so one caller's appends keep their order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .errors import StoreClosed

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


@dataclass
class CommitStats:
    """Counters a bench or a metrics endpoint reads: how well batching works."""

    commits: int = 0
    items: int = 0
    largest_batch: int = 0
    failed_commits: int = 0


@dataclass
class _Job(Generic[Item, Outcome]):
    items: Sequence[Item]
    future: Future[list[Outcome]] = field(default_factory=Future)


class GroupCommitter(Generic[Item, Outcome]):
    """Runs ``apply(batch) -> outcomes`` on one thread; ``apply`` must return only after COMMIT.

    ``apply`` gets the items of several callers, concatenated, and returns one outcome per
    item in the same order. If it raises, nothing of that batch may have been committed and
    every caller in it receives the exception.
    """

    def __init__(self, apply: Callable[[list[Item]], list[Outcome]], *, max_batch: int = 4096,
                 linger: float = 0.0, name: str = "group-commit") -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch: expected >= 1, got {max_batch}")
        self._apply = apply
        self._max_batch = max_batch
        self._linger = linger
        self._queue: deque[_Job[Item, Outcome]] = deque()
        self._queued_items = 0
        self._cond = threading.Condition()
        self._closing = False
        self.stats = CommitStats()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[Item]) -> Future[list[Outcome]]:
        """Queue ``items`` for the next transaction; the future resolves after its COMMIT."""
        job: _Job[Item, Outcome] = _Job(items)
        with self._cond:
            if self._closing:
                raise StoreClosed("the ledger store is closed; no more appends are accepted")
            self._queue.append(job)
            self._queued_items += len(items)
            self._cond.notify()
        return job.future

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _next_batch(self) -> list[_Job[Item, Outcome]] | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None
            if self._linger > 0 and self._queued_items < self._max_batch and not self._closing:
                deadline = time.monotonic() + self._linger
                while self._queued_items < self._max_batch and not self._closing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            jobs: list[_Job[Item, Outcome]] = []
            taken = 0
            while self._queue and (not jobs or taken + len(self._queue[0].items) <= self._max_batch):
                job = self._queue.popleft()
                jobs.append(job)
                taken += len(job.items)
            self._queued_items -= taken
            return jobs

    def _run(self) -> None:
        while (jobs := self._next_batch()) is not None:
            batch = [item for job in jobs for item in job.items]
            try:
                outcomes = self._apply(batch)
            except BaseException as exc:  # noqa: BLE001 - every waiting caller must hear of it
                self.stats.failed_commits += 1
                for job in jobs:
                    job.future.set_exception(exc)
                continue
            self.stats.commits += 1
            self.stats.items += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            start = 0
            for job in jobs:
                job.future.set_result(outcomes[start:start + len(job.items)])
                start += len(job.items)
