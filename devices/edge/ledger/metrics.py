"""Counters for ``GET /v1/metrics``, in the Prometheus text exposition format (version 0.0.4).

Cheap by construction: admission adds to a few integers under one lock per request (not per
record), the commit-latency histogram is a fixed list of buckets, and the store's figures
(tree size, block height, commits) are read from memory at scrape time; nothing touches SQLite.

Commit latency is measured per request from the hand-off to the writer until the durable
acknowledgement, so it includes the wait for the batch before it: what a device sees, less
the network.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import LedgerStore

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    """Cumulative-bucket histogram; ``observe`` is a bisect and two additions."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def lines(self, name: str, help_text: str) -> list[str]:
        out = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            label = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{le="{label}"}} {running}')
        out += [f"{name}_sum {self.total:.6f}", f"{name}_count {running}"]
        return out


class Metrics:
    """Admission and commit counters of one node; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accepted = 0
        self.refused: Counter[str] = Counter()
        self.latency = Histogram(LATENCY_BUCKETS)
        self.request_records = Histogram(BATCH_BUCKETS)

    def outcomes(self, outcomes: Sequence[object]) -> None:
        """Count one request's outcomes: Accepted has no ``code``, a refusal has its reason code."""
        refused = Counter(getattr(o, "code", "") or "other" for o in outcomes if hasattr(o, "code"))
        with self._lock:
            self.accepted += len(outcomes) - sum(refused.values())
            self.refused.update(refused)
            self.request_records.observe(len(outcomes))

    def committed(self, seconds: float) -> None:
        with self._lock:
            self.latency.observe(seconds)

    def render(self, store: LedgerStore) -> bytes:
        """The exposition text; store figures are read from memory."""
        stats = store.commit_stats
        with self._lock:
            lines = ["# HELP ledger_records_accepted_total Records appended (durable).",
                     "# TYPE ledger_records_accepted_total counter",
                     f"ledger_records_accepted_total {self.accepted}",
                     "# HELP ledger_records_refused_total Records refused, by reason.",
                     "# TYPE ledger_records_refused_total counter"]
            lines += [f'ledger_records_refused_total{{reason="{reason}"}} {count}'
                      for reason, count in sorted(self.refused.items())]
            lines += self.latency.lines("ledger_commit_latency_seconds",
                                        "Per request, hand-off to the writer until the durable acknowledgement.")
            lines += self.request_records.lines("ledger_request_records", "Records per POST /v1/records call.")
        lines += [
            "# HELP ledger_commits_total Durable transactions (group commits), one block each.",
            "# TYPE ledger_commits_total counter", f"ledger_commits_total {stats.commits}",
            "# HELP ledger_commit_items_total Items written by those commits.",
            "# TYPE ledger_commit_items_total counter", f"ledger_commit_items_total {stats.items}",
            "# HELP ledger_commit_failures_total Commits that failed.",
            "# TYPE ledger_commit_failures_total counter", f"ledger_commit_failures_total {stats.failed_commits}",
            "# HELP ledger_commit_batch_largest Largest group commit so far, in items.",
            "# TYPE ledger_commit_batch_largest gauge", f"ledger_commit_batch_largest {stats.largest_batch}",
            "# HELP ledger_tree_size Entries in the log as committed.",
            "# TYPE ledger_tree_size gauge", f"ledger_tree_size {store.size}",
            "# HELP ledger_block_height Height of the last block; -1 before the first.",
            "# TYPE ledger_block_height gauge", f"ledger_block_height {store.block_count - 1}",
        ]
        return ("\n".join(lines) + "\n").encode()
