"""Ledger throughput and goodput over a run, kept apart.

Why apart: a harness that divides every answer by the time reports refusals as throughput
(Caliper once showed 555 TPS for a round with 4 successes, docs/reference/ledger.md §1). Here
goodput counts only records the node made durable, throughput every record it answered
(accepted or refused), both over the same window: the first record sent to the last answer,
as the devices' own stats say. The counts are the node's (``GET /v1/metrics``), so records a
device never heard back about still count where the node did the work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import AgentError
from .integrity import LogUnderTest, http_get
from .stats import AgentStats

_SAMPLE = re.compile(r'^(ledger_records_(?:accepted|refused)_total)(?:\{reason="([^"]*)"\})? (\d+)$', re.M)


@dataclass(frozen=True)
class LedgerRates:
    accepted: int  # records appended and durable
    refused: dict[str, int]  # records refused, by the node's reason code
    seconds: float  # first send to last answer

    @property
    def goodput(self) -> float:
        """Durable records per second."""
        return self.accepted / self.seconds if self.seconds > 0 else 0.0

    @property
    def throughput(self) -> float:
        """Answered records (accepted or refused) per second."""
        return (self.accepted + sum(self.refused.values())) / self.seconds if self.seconds > 0 else 0.0


def counts_from_metrics(text: str) -> tuple[int, dict[str, int]]:
    """(accepted, refused by reason) from the node's Prometheus text."""
    accepted: int | None = None
    refused: dict[str, int] = {}
    for name, reason, value in _SAMPLE.findall(text):
        if name == "ledger_records_accepted_total":
            accepted = int(value)
        else:
            refused[reason or "other"] = int(value)
    if accepted is None:
        raise AgentError(f"ledger metrics: expected a ledger_records_accepted_total sample, got {text[:120]!r}")
    return accepted, refused


def ledger_rates(log: LogUnderTest, stats: Mapping[str, AgentStats]) -> LedgerRates:
    """The node's counts over the devices' window (call it after the agents stopped)."""
    status, body = http_get(log, ["/v1/metrics"])[0]
    if status != 200:
        raise AgentError(f"GET /v1/metrics on {log.node}: expected 200, got {status}: {body[:200]!r}")
    accepted, refused = counts_from_metrics(body.decode())
    acks = [a for s in stats.values() for a in s.acks]
    seconds = (max(a.ack_ns for a in acks) - min(a.send_ns for a in acks)) / 1e9 if acks else 0.0
    return LedgerRates(accepted, refused, seconds)
