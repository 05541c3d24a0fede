"""Ledger nodes witnessing a peer (C2SP tlog-witness), as real processes over loopback:
cosign growth, refuse rollbacks, forks and stale sizes, keep evidence, survive kill -9, k-of-n."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from jsonschema import Draft202012Validator

from devices.edge.ledger.witness import Evidence, read_evidence
from devices.wire import Checkpoint, Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest, sign_checkpoint
from devices.wire.cosignature import CosignatureVerifier, require_cosignatures
from devices.wire.errors import QuorumNotMet

REPO = Path(__file__).resolve().parents[4]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
LOG = Ed25519Signer("ledger.witnessed.example/log", PrivateKey(b"\x51" * 32))
DEVICE = PrivateKey(b"\x52" * 32)
SPEC = yaml.safe_load((REPO / "devices" / "edge" / "ledger" / "openapi.yaml").read_text())


@dataclass
class Proc:
    """One ``serve`` process; ``args`` restart it on the same data."""

    args: list[str]
    port: int = 0
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def start(self) -> Proc:
        self.process = subprocess.Popen([sys.executable, "-m", "devices.edge.ledger", "serve", *self.args],
                                        cwd=REPO, env=ENV, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        self.port = int(line.split()[2].rsplit(":", 1)[1])
        return self

    def call(self, method: str, path: str, body: bytes = b"") -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body)
            answer = conn.getresponse()
            return answer.status, answer.getheader("Content-Type", ""), answer.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=10) == 0

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@dataclass
class Net:
    tmp: Path
    log: Proc
    witnesses: list[Proc]
    keys: list[CosignatureVerifier]
    seq: int = 0

    def append(self, count: int) -> None:
        records = []
        for _ in range(count):
            self.seq += 1
            envelope = RecordEnvelope("vitals", "monitor-1", self.seq, time.time_ns(), time.time_ns(),
                                      payload_digest(b"p"), 1)
            records.append(base64.b64encode(envelope.sign(DEVICE).to_bytes()).decode())
        assert self.log.call("POST", "/v1/records", json.dumps({"records": records}).encode())[0] == 201

    def checkpoint(self) -> bytes:
        status, _, body = self.log.call("GET", "/v1/checkpoint")
        assert status == 200
        return body

    def proof(self, first: int, second: int) -> list[str]:
        status, _, body = self.log.call("GET", f"/v1/proof/consistency?first={first}&second={second}")
        assert status == 200, body
        return json.loads(body)["proof"]

    def evidence(self, n: int) -> list[Evidence]:
        uri = f"{(self.tmp / f'w{n}' / 'witness.db').resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True)
        try:
            return read_evidence(conn)
        finally:
            conn.close()


def add(witness: Proc, old: int, proof: list[str], note: bytes) -> tuple[int, str, bytes]:
    body = f"old {old}\n".encode() + b"".join(p.encode() + b"\n" for p in proof) + b"\n" + note
    return witness.call("POST", "/add-checkpoint", body)


def forge(size: int, root: bytes, signer: Ed25519Signer = LOG) -> bytes:
    """A checkpoint validly signed by ``signer`` (the log key by default) that the log does not have."""
    return sign_checkpoint(Checkpoint(signer.name, size, root), signer)


def _net(tmp: Path, witnesses: int) -> Iterator[Net]:
    (tmp / "log.key").write_text(LOG.skey() + "\n")
    (tmp / "devices.json").write_text(json.dumps(
        {"devices": {"monitor-1": base64.b64encode(DEVICE.public_key.raw).decode()}}))
    (tmp / "peers.json").write_text(json.dumps({"logs": [{"origin": LOG.name, "vkey": LOG.verifier.vkey()}]}))
    procs: list[Proc] = []
    keys = []
    try:
        log = Proc(["--listen", "127.0.0.1:0", "--data", str(tmp / "log"), "--key", str(tmp / "log.key"),
                    "--devices", str(tmp / "devices.json")])
        procs.append(log.start())
        for n in range(witnesses):
            own = Ed25519Signer(f"ledger.w{n}.example/log", PrivateKey(bytes([0x60 + n]) * 32))
            cosigner = Ed25519Signer(f"w{n}.example/witness", PrivateKey(bytes([0x70 + n]) * 32))
            (tmp / f"w{n}.key").write_text(own.skey() + "\n")
            (tmp / f"w{n}.wkey").write_text(cosigner.skey() + "\n")
            keys.append(CosignatureVerifier(cosigner.name, cosigner.private_key.public_key))
            procs.append(Proc(["--listen", "127.0.0.1:0", "--data", str(tmp / f"w{n}"), "--key", str(tmp / f"w{n}.key"),
                               "--witness-config", str(tmp / "peers.json"),
                               "--witness-key", str(tmp / f"w{n}.wkey")]).start())
        yield Net(tmp, log, procs[1:], keys)
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture
def one(tmp_path: Path) -> Iterator[Net]:
    yield from _net(tmp_path, 1)


@pytest.fixture
def three(tmp_path: Path) -> Iterator[Net]:
    yield from _net(tmp_path, 3)


def test_witness_cosigns_growth_and_refuses_rollback_fork_and_stale(one: Net) -> None:
    net, witness = one, one.witnesses[0]
    status, _, body = net.log.call("POST", "/add-checkpoint", b"old 0\n\n" + net.checkpoint())
    assert status == 404 and b"runs no witness" in body  # the log node itself witnesses nobody

    net.append(3)
    cp3 = net.checkpoint()
    status, media, line = add(witness, 0, [], cp3)
    assert (status, media) == (200, "text/plain; charset=utf-8"), line
    assert require_cosignatures(cp3 + line, LOG.verifier, net.keys, 1).checkpoint.tree_size == 3

    net.append(3)
    cp6 = net.checkpoint()
    assert add(witness, 3, net.proof(3, 6), cp6)[0] == 200
    assert add(witness, 6, [], cp6)[0] == 200  # the same checkpoint again: cosigned again

    assert add(witness, 3, net.proof(3, 6), cp6) == (409, "text/x.tlog.size", b"6\n")  # stale old size
    assert add(witness, 3, [], cp3) == (409, "text/x.tlog.size", b"6\n")  # rollback, honestly labelled
    status, _, body = add(witness, 6, [], cp3)  # rollback claiming the recorded size
    assert status == 400 and b"at most the checkpoint's size 3" in body
    assert net.evidence(0) == []  # an older checkpoint is not misbehaviour, only out of date

    fork6 = forge(6, hashlib.sha256(b"fork").digest())
    status, _, body = add(witness, 6, [], fork6)
    assert status == 422 and b"evidence stored" in body
    net.append(3)
    fork9 = forge(9, hashlib.sha256(b"other").digest())
    status, _, body = add(witness, 6, net.proof(6, 9), fork9)
    assert status == 422 and b"consistency" in body
    [fork, proof] = net.evidence(0)
    assert (fork.kind, fork.held, fork.offered) == ("fork", cp6, fork6)
    assert (proof.kind, proof.held, proof.offered, list(proof.proof)) == ("proof", cp6, fork9, net.proof(6, 9))
    assert add(witness, 6, net.proof(6, 9), net.checkpoint())[0] == 200  # the real one still goes through
    status, media, body = witness.call("GET", "/v1/witness/evidence")
    assert (status, media) == (200, "application/json")
    schema = SPEC["paths"]["/v1/witness/evidence"]["get"]["responses"]["200"]["content"][media]["schema"]
    Draft202012Validator({**schema, "components": SPEC["components"]}).validate(json.loads(body))
    served = json.loads(body)["evidence"]
    assert [(e["kind"], e["held"].encode(), e["offered"].encode()) for e in served] == \
        [("fork", cp6, fork6), ("proof", cp6, fork9)]
    assert net.log.call("GET", "/v1/witness/evidence")[0] == 404

    stranger = Ed25519Signer("ledger.stranger.example/log", PrivateKey(b"\x59" * 32))
    status, _, body = add(witness, 0, [], forge(1, hashlib.sha256(b"s").digest(), stranger))
    assert status == 404 and b"ledger.stranger.example/log" in body
    impostor = Ed25519Signer(LOG.name, PrivateKey(b"\x5a" * 32))  # right name, wrong key
    assert add(witness, 9, [], forge(9, hashlib.sha256(b"x").digest(), impostor))[0] == 403
    assert add(witness, 9, ["not base64!"], net.checkpoint())[0] == 400


def test_state_and_evidence_survive_kill_9(one: Net) -> None:
    net, witness = one, one.witnesses[0]
    net.append(2)
    cp2 = net.checkpoint()
    assert add(witness, 0, [], cp2)[0] == 200
    net.append(3)
    cp5 = net.checkpoint()
    assert add(witness, 2, net.proof(2, 5), cp5)[0] == 200
    fork5 = forge(5, hashlib.sha256(b"fork").digest())
    assert add(witness, 5, [], fork5)[0] == 422
    witness.kill9()  # right after the answers: no clean shutdown
    witness.start()
    assert add(witness, 2, net.proof(2, 5), cp2) == (409, "text/x.tlog.size", b"5\n")
    assert add(witness, 5, [], fork5)[0] == 422
    assert [(e.kind, e.held, e.offered) for e in net.evidence(0)] == [("fork", cp5, fork5)]  # kept once
    assert add(witness, 5, [], cp5)[0] == 200


def test_k_of_n_over_three_witnesses(three: Net) -> None:
    net = three
    net.append(4)
    cp4 = net.checkpoint()
    lines = [add(w, 0, [], cp4)[2] for w in net.witnesses[:2]]  # the third never hears of it
    cosigned = cp4 + b"".join(lines)
    result = require_cosignatures(cosigned, LOG.verifier, net.keys, 2)
    assert [name for name, _ in result.witnesses] == [k.name for k in net.keys[:2]]
    assert all(abs(stamp - time.time()) < 60 for _, stamp in result.witnesses)
    with pytest.raises(QuorumNotMet, match=rf"from 3 of 3 witnesses, got 2; missing: {net.keys[2].name}\+"):
        require_cosignatures(cosigned, LOG.verifier, net.keys, 3)

    # the log shows witness 3 a fork of the same size: it refuses, so the fork can gather only 1 of 3
    fork = forge(4, hashlib.sha256(b"split view").digest())
    assert add(net.witnesses[2], 0, [], cp4)[0] == 200
    assert [add(w, 4, [], fork)[0] for w in net.witnesses] == [422, 422, 422]
    assert all(len(net.evidence(n)) == 1 for n in range(3))
    with pytest.raises(QuorumNotMet, match="got 0"):
        require_cosignatures(fork, LOG.verifier, net.keys, 2)


def test_concurrent_requests_cosign_only_one_branch(one: Net, rfc: SimpleNamespace) -> None:
    """A real growth and a fork with a proof that checks out race from the same old size: one wins."""
    net, witness = one, one.witnesses[0]
    net.append(2)
    assert add(witness, 0, [], net.checkpoint())[0] == 200
    status, _, body = net.log.call("GET", "/v1/entries?start=0&end=2")
    leaves = [rfc.leaf(base64.b64decode(e)) for e in json.loads(body)["entries"]] + [rfc.leaf(b"x"), rfc.leaf(b"y")]
    fork = forge(4, rfc.mth(leaves))
    fork_proof = [base64.b64encode(h).decode() for h in rfc.proof(2, leaves)]
    net.append(2)
    real, real_proof = net.checkpoint(), net.proof(2, 4)
    answers: list[tuple[bytes, int]] = []
    threads = [threading.Thread(target=lambda note=note, proof=proof: answers.append(
        (note, add(witness, 2, proof, note)[0]))) for note, proof in [(real, real_proof), (fork, fork_proof)] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    winners = [note for note, status in answers if status == 200]
    assert len(answers) == 8 and len(winners) == 1, answers
    assert {status for _, status in answers} == {200, 409}
    loser = fork if winners[0] == real else real
    assert [(e.kind, e.held, e.offered) for e in net.evidence(0)] == [("fork", winners[0], loser)]
