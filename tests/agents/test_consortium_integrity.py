"""Three hospitals (topologies/consortium.yaml, unshaped) stream for a few seconds; then every chain-integrity
check holds for every hospital's log, and each check refuses evidence altered the way a fault would alter it."""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.wire import Checkpoint, Ed25519Signer, PrivateKey, parse_note, sign_checkpoint
from testbed.agents import integrity
from testbed.agents.consortium import Consortium
from testbed.agents.integrity import CheckpointSampler, LogUnderTest, Verdict
from testbed.agents.ledger import LedgerEntry
from testbed.agents.stats import AgentStats
from testbed.backends.emulated import EmulatedRig, clean
from testbed.backends.netns import list_netns
from testbed.topology.loader import load_topology

REPO = Path(__file__).resolve().parents[2]
HOSPITALS = {f"h{n}-edge": {f"h{n}-ecg": "ecg", f"h{n}-spo2": "spo2"} for n in (1, 2, 3)}
_names = itertools.count()


@dataclass(frozen=True)
class Run:
    """What one consortium run left for the checks: per edge its log, the agents' stats, the sampled checkpoints."""

    consortium: Consortium
    logs: dict[str, LogUnderTest]
    stats: dict[str, dict[str, AgentStats]]
    notes: dict[str, list[bytes]]
    entries: dict[str, list[LedgerEntry]]


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """One unshaped consortium rig for the module; agents stream ~5 s while checkpoints are sampled."""
    if os.geteuid() != 0:
        pytest.skip("needs root: network namespaces")
    run_dir = Path(tempfile.mkdtemp(prefix="tbc", dir="/dev/shm"))
    name = f"c{os.getpid() % 100000}x{next(_names)}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TESTBED_RUN_DIR", str(run_dir))
        try:
            rig = EmulatedRig.up(load_topology(REPO / "topologies" / "consortium.yaml"), name, shaping=False)
            with Consortium(rig, HOSPITALS, interval=0.3) as c:
                samplers = [CheckpointSampler(log, period=1.0).start() for log in c.logs.values()]
                try:
                    time.sleep(5)
                    c.stop_agents()
                finally:
                    notes = {edge: s.stop() for edge, s in zip(c.logs, samplers, strict=True)}
                c.wait_witnessed()
                yield Run(c, c.logs, {edge: c.stats(edge) for edge in c.logs}, notes,
                          {edge: log.ledger.entries() for edge, log in c.logs.items()})
        finally:
            clean(name)
            shutil.rmtree(run_dir, ignore_errors=True)
            assert not [ns for ns in list_netns() if ns.startswith(f"tb-{name}-")]


@pytest.mark.root
def test_every_check_holds_for_every_hospital(run: Run) -> None:
    for edge, log in run.logs.items():
        verdicts = integrity.all_checks(log, run.stats[edge], run.notes[edge], sample=32, seed=7)
        print("\n".join(f"{edge} {v}" for v in verdicts))
        assert [v.holds for v in verdicts] == [True] * 5, [str(v) for v in verdicts if not v.holds]
        acked, inclusion, consistency, cosigned, tamper = verdicts
        assert acked.checked["acks"] >= 40 and acked.checked["devices"] == 2
        assert inclusion.checked["proofs"] == 32
        assert consistency.checked["pairs"] >= 2, run.notes[edge]  # the tree grew while it was sampled
        assert cosigned.checked["cosignatures"] == 2 and cosigned.checked["tree_size"] == len(run.entries[edge])
        assert tamper.checked["entries"] == len(run.entries[edge])
    for figures in run.consortium.figures().values():
        assert figures.lost == 0 and figures.in_order, figures


def _failing(verdict: Verdict, *fragments: str) -> None:
    assert not verdict.holds, verdict
    for fragment in fragments:
        assert fragment in verdict.detail, verdict


@pytest.mark.root
def test_a_record_missing_or_duplicated_is_detected(run: Run) -> None:
    stats, entries = run.stats["h1-edge"], run.entries["h1-edge"]
    assert integrity.check_acked(stats, entries).holds
    gone = entries[10]
    _failing(integrity.check_acked(stats, entries[:10] + entries[11:]),
             f"device {gone.device_id} seq {gone.seq}", "expected on chain once, found at no index")
    twice = [*entries, dataclasses.replace(gone, index=len(entries))]
    _failing(integrity.check_acked(stats, twice), f"found at [{gone.index}, {len(entries)}]")
    ecg = stats["h1-ecg"]
    unacked = {**stats, "h1-ecg": dataclasses.replace(ecg, acks=ecg.acks[:-1])}  # the chain holds one more
    _failing(integrity.check_acked(unacked, entries), "never acknowledged")
    stranger = [*entries, LedgerEntry(len(entries), "h2-ecg", 1)]
    _failing(integrity.check_acked(stats, stranger), "device 'h2-ecg' is not one of")
    unmade = [*entries, LedgerEntry(len(entries), "h1-spo2", stats["h1-spo2"].made + 1)]
    _failing(integrity.check_acked(stats, unmade), "was never made")


@pytest.mark.root
def test_a_corrupted_proof_and_a_wrong_key_are_refused(run: Run) -> None:
    log = run.logs["h2-edge"]
    note, samples = integrity.fetch_inclusions(log, sample=8, seed=3)
    assert integrity.verify_inclusions(note, log.vkey, samples).holds
    victim = next(s for s in samples if s.proof)
    bad = dataclasses.replace(victim, proof=(bytes([victim.proof[0][0] ^ 0x80]) + victim.proof[0][1:],
                                             *victim.proof[1:]))
    _failing(integrity.verify_inclusions(note, log.vkey, [bad]), f"leaf {victim.index}:", "expected root")
    _failing(integrity.verify_inclusions(note, log.vkey, [dataclasses.replace(victim, entry=victim.entry + b"x")]),
             f"leaf {victim.index}:")
    impostor = Ed25519Signer(log.vkey.name, PrivateKey(b"\x13" * 32))  # the log's name, another key
    forged = sign_checkpoint(Checkpoint.from_text(parse_note(note).text), impostor)
    _failing(integrity.verify_inclusions(forged, log.vkey, samples), "checkpoint signature")
    _failing(integrity.verify_consistency_chain([forged], log.vkey, {}), "checkpoint 0")


@pytest.mark.root
def test_a_rollback_or_fork_between_sampled_checkpoints_is_refused(run: Run) -> None:
    log, notes = run.logs["h3-edge"], run.notes["h3-edge"]
    proofs = integrity.fetch_consistency(log, notes)
    assert integrity.verify_consistency_chain(notes, log.vkey, proofs).holds
    _failing(integrity.verify_consistency_chain(notes[::-1], log.vkey, proofs), "the log shrank")
    signer = Ed25519Signer.from_skey((log.home / "node.key").read_text().strip())  # the log itself misbehaves
    last = Checkpoint.from_text(parse_note(notes[-1]).text)
    fork = sign_checkpoint(dataclasses.replace(last, root_hash=bytes(32)), signer)
    _failing(integrity.verify_consistency_chain([*notes[:-1], fork], log.vkey, proofs),
             f"checkpoints {len(notes) - 2} -> {len(notes) - 1}")


@pytest.mark.root
def test_fewer_than_quorum_cosignatures_do_not_hold(run: Run) -> None:
    log = run.logs["h1-edge"]
    [(status, note)] = integrity.http_get(log, ["/v1/checkpoint/cosigned"])
    assert status == 200 and integrity.verify_cosigned(note, log.vkey, log.witnesses, log.quorum).holds
    one_short = note[:note.rstrip(b"\n").rfind(b"\n") + 1]  # drop the last cosignature line
    _failing(integrity.verify_cosigned(one_short, log.vkey, log.witnesses, log.quorum), "got 1; missing")
    plain = integrity.http_get(log, ["/v1/checkpoint"])[0][1]
    _failing(integrity.verify_cosigned(plain, log.vkey, log.witnesses, 1), "got 0")
    other = run.logs["h2-edge"]  # h2's witnesses are h1 and h3: h2's own cosignature is not among h1's
    _failing(integrity.verify_cosigned(note, log.vkey, other.witnesses, 2), "missing: " + other.witnesses[0].name)


@pytest.mark.root
def test_a_tampered_copy_fails_verify_naming_the_leaf(run: Run) -> None:
    log = run.logs["h2-edge"]
    verdict = integrity.tamper_evident(log, seed=11)
    assert verdict.holds, verdict
    assert not list(log.home.glob("tamper-*"))  # the copies are gone
