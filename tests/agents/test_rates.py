"""Ledger goodput apart from throughput, from the node's own Prometheus counters."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.edge.ledger.metrics import Metrics
from devices.edge.ledger.node import Accepted, Refused
from devices.edge.ledger.store import LedgerStore
from devices.wire import PrivateKey
from testbed.agents.errors import AgentError
from testbed.agents.rates import LedgerRates, counts_from_metrics


def test_the_node_s_exposition_reads_back_as_accepted_and_refused_by_reason(tmp_path: Path) -> None:
    metrics = Metrics()
    ok = [Accepted(i, i + 1, 0, "d1", i + 1) for i in range(5)]
    metrics.outcomes([*ok, Refused(403, "bad signature", code="signature")])
    metrics.outcomes([Refused(409, "held", 4, code="sequence"), Refused(409, "held", 4, code="sequence"), ok[0]])
    with LedgerStore(tmp_path / "ledger.db", PrivateKey(b"\x07" * 32)) as store:
        text = metrics.render(store).decode()
    assert counts_from_metrics(text) == (6, {"sequence": 2, "signature": 1})


def test_goodput_counts_durable_records_and_throughput_every_answer() -> None:
    rates = LedgerRates(accepted=90, refused={"sequence": 6, "signature": 4}, seconds=20.0)
    assert rates.goodput == 4.5 and rates.throughput == 5.0
    assert LedgerRates(0, {}, 0.0).goodput == 0.0


def test_text_without_the_accepted_counter_is_refused_quoting_it() -> None:
    with pytest.raises(AgentError, match=r"expected a ledger_records_accepted_total sample, got 'not metrics'"):
        counts_from_metrics("not metrics")
