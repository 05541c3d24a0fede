"""Chain integrity after a run over shaped topologies: every acknowledged record on the chain
exactly once, inclusion proofs for a sample, consistency across the checkpoints seen during
the run, witness cosignatures (the consortium: each edge witnesses the others), and a tampered
copy of the store failing verification. Each verdict is a measurement (unit "bool")."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from e2e_support import DEVICES, SIGNALS

from testbed.agents import Consortium, Deployment
from testbed.agents.integrity import CheckpointSampler, Verdict, all_checks, log_of, stats_of
from testbed.agents.rates import ledger_rates
from testbed.measure import Recorder
from testbed.shaping.timeline import Timeline

pytestmark = [pytest.mark.root, pytest.mark.netem]

SECONDS = 5.0


def record_verdicts(measurements: Recorder, log: str, verdicts: Sequence[Verdict]) -> None:
    for v in verdicts:
        measurements.check(f"integrity.{log}.{v.key}", v.holds, section="integrity", log=log,
                           description=str(v))


@pytest.mark.topology("ward", "ambulance")
def test_every_record_is_on_the_chain_once_and_proofs_verify(rig, measurements: Recorder) -> None:
    """On the ambulance the topology's handovers play while the devices stream."""
    with Deployment(rig, DEVICES[rig.topology.name], signals=SIGNALS) as d:
        log = log_of(d)
        sampler = CheckpointSampler(log, period=0.5).start()
        try:
            if rig.topology.timeline:
                Timeline.from_topology(rig.topology).run(rig)
            time.sleep(max(0.0, SECONDS))
            d.stop_agents()
        finally:
            notes = sampler.stop()
        stats = stats_of(d)
        verdicts = all_checks(log, stats, notes, sample=32, seed=7)
        rates = ledger_rates(log, stats)
    record_verdicts(measurements, "edge", verdicts)
    # goodput apart from throughput: a resend after a lost ack is answered (409) but adds nothing
    resent = rates.refused.get("sequence", 0)
    measurements.record("ledger.goodput", rates.goodput, "records/s", low=0.001, section="ledger",
                        description=f"{rates.accepted} records made durable in {rates.seconds:.1f} s")
    measurements.record("ledger.throughput", rates.throughput, "records/s", section="ledger")
    measurements.record("ledger.resends_refused", resent, "records", section="ledger")
    measurements.record("ledger.invalid_refused", sum(rates.refused.values()) - resent, "records", high=0,
                        section="ledger", description="records the node refused as malformed, unenrolled or badly "
                                                      "signed; the devices send none")
    assert rates.accepted >= sum(len({a.seq for a in s.acks if not a.already_held}) for s in stats.values())
    measurements.record("integrity.edge.checkpoints", len(notes), "checkpoints", low=2, section="integrity-counts")
    assert len(verdicts) == 4  # no witnesses on a single-edge deployment: (a), (b), (c), (e)


@pytest.mark.topology("consortium")
def test_consortium_logs_are_cosigned_by_their_peers(rig, measurements: Recorder) -> None:
    # one device per hospital: three ledgers witnessing each other are the point, and the VM's
    # emulated CPU has to carry all of it
    hospitals = {f"h{n}-edge": {f"h{n}-spo2": "spo2"} for n in (1, 2, 3)}
    with Consortium(rig, hospitals, signals=SIGNALS, interval=0.3) as c:
        samplers = {edge: CheckpointSampler(log, period=1.0).start() for edge, log in c.logs.items()}
        try:
            time.sleep(SECONDS)
            c.stop_agents()
        finally:
            notes = {edge: s.stop() for edge, s in samplers.items()}
        c.wait_witnessed(timeout=120)
        for edge, log in c.logs.items():
            verdicts = all_checks(log, c.stats(edge), notes[edge], sample=16, seed=3)
            record_verdicts(measurements, edge, verdicts)
            assert len(verdicts) == 5, [str(v) for v in verdicts]  # (d) included: the log has witnesses
