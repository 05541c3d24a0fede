"""The measurement noise floor: on an unshaped link, how much the suite's own machinery adds.

Every latency figure the suites report includes the device's and the ledger's software; on a
link with no shaping at all what remains is that software. The HTTP hop (a keep-alive request
to the ledger and its answer) must stay under 1 ms p50 on a native kernel; the record's full
send -> ack (payload PUT, envelope POST, the ledger's durable commit) is reported beside it.
This runs natively on the host (no netem needed), so the figure is the host's own.
"""

from __future__ import annotations

import os
import time

import pytest
from e2e_support import SIGNALS, http_round_trips_ms

from testbed.agents import Deployment
from testbed.agents.stats import read_stats
from testbed.measure import Recorder

pytestmark = pytest.mark.root

IN_VM = bool(os.environ.get("TESTBED_IN_VM"))


@pytest.mark.topology("tests/e2e/flat.yaml")
def test_the_app_level_hop_adds_under_a_millisecond(rig, measurements: Recorder) -> None:
    with Deployment(rig, {"dev": "ecg"}, signals=SIGNALS) as d:
        assert d.ledger is not None
        hops = http_round_trips_ms(rig, "dev", d.ledger.url, 500)[50:]  # the first ones warm the path up
        time.sleep(3)
        d.stop_agents()
        acks = read_stats(d.sensors["dev"].stats).acks
    measurements.distribution("noise.http_hop", hops, "ms", statistic="p50", high=None if IN_VM else 1.0,
                              section="noise", description="keep-alive GET /v1/health, device -> edge ledger")
    measurements.distribution("noise.record_send_to_ack", [(a.ack_ns - a.send_ns) / 1e6 for a in acks], "ms",
                              statistic="p50", section="noise",
                              description="payload PUT + envelope POST + durable commit, unshaped")
    assert len(acks) >= 5
