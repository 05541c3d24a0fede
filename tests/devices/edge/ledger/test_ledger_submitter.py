"""Logs submitting their checkpoints to witnesses (``serve --witnesses``), as real processes on loopback:
three nodes witness each other to a 2-of-2 quorum, a witness that was down catches up, a forked
log with the same key is refused with evidence, and a cosignature by the wrong key never counts."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devices.edge.ledger.node import LedgerNode
from devices.edge.ledger.payloads import PayloadStore
from devices.edge.ledger.service import LedgerServer
from devices.edge.ledger.store import LedgerStore
from devices.edge.ledger.submitter import Submitter, WitnessPeer, WitnessPolicy, load_witnesses
from devices.edge.ledger.witness import Witness, WitnessedLog
from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest
from devices.wire.cosignature import CosignatureSigner, CosignatureVerifier, require_cosignatures
from devices.wire.errors import QuorumNotMet

REPO = Path(__file__).resolve().parents[4]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
DEVICE = PrivateKey(b"\x33" * 32)
INTERVAL = "0.2"


def log_key(n: int) -> Ed25519Signer:
    return Ed25519Signer(f"ledger.n{n}.example/log", PrivateKey(bytes([0x20 + n]) * 32))


def witness_key(n: int) -> Ed25519Signer:
    return Ed25519Signer(f"n{n}.example/witness", PrivateKey(bytes([0x40 + n]) * 32))


def cosigner(n: int) -> CosignatureVerifier:
    key = witness_key(n)
    return CosignatureVerifier(key.name, key.private_key.public_key)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Node:
    """One ``serve`` process: a log (key ``log``) that also witnesses its peers; restartable on its port."""

    home: Path
    log: Ed25519Signer
    port: int
    args: list[str]
    seq: int = 0
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def stderr(self) -> str:
        return (self.home / "stderr.log").read_text()

    def start(self) -> Node:
        with open(self.home / "stderr.log", "a") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "devices.edge.ledger", "serve", *self.args],
                                            cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=err, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith(f"listening on http://127.0.0.1:{self.port} "), line + self.stderr
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=15) == 0, self.stderr

    def call(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def append(self, count: int, tag: bytes = b"p") -> int:
        records = []
        for _ in range(count):
            self.seq += 1
            envelope = RecordEnvelope("vitals", "monitor-1", self.seq, time.time_ns(), time.time_ns(),
                                      payload_digest(tag), 1)
            records.append(base64.b64encode(envelope.sign(DEVICE).to_bytes()).decode())
        status, body = self.call("POST", "/v1/records", json.dumps({"records": records}).encode())
        assert status == 201, body
        return self.seq

    def cosigned(self) -> tuple[int, bytes]:
        return self.call("GET", "/v1/checkpoint/cosigned")


def wait_cosigned(node: Node, size: int, timeout: float = 20) -> bytes:
    """The node's cosigned checkpoint once it reaches ``size``; fails naming what the node logged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = node.cosigned()
        if status == 200 and int(body.split(b"\n")[1]) >= size:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{node.log.name}: no cosigned checkpoint of size {size} in {timeout} s: "
                         f"{node.cosigned()} {node.stderr[-600:]}")


def write_node(tmp: Path, n: int, peers: list[int], ports: dict[int, int], log: Ed25519Signer | None = None,
               data: str | None = None) -> Node:
    """Files for node ``n``: keys, enrolment, the logs it witnesses and the witnesses it submits to."""
    home = tmp / (data or f"n{n}")
    home.mkdir()
    log = log or log_key(n)
    (home / "log.key").write_text(log.skey() + "\n")
    (home / "witness.key").write_text(witness_key(n).skey() + "\n")
    (home / "devices.json").write_text(json.dumps(
        {"devices": {"monitor-1": base64.b64encode(DEVICE.public_key.raw).decode()}}))
    (home / "peers.json").write_text(json.dumps({"logs": [{"vkey": log_key(p).verifier.vkey()} for p in peers]}))
    (home / "witnesses.json").write_text(json.dumps({"quorum": len(peers), "witnesses": [
        {"name": cosigner(p).name, "vkey": cosigner(p).vkey(), "url": f"http://127.0.0.1:{ports[p]}"}
        for p in peers]}))
    port = ports[n] if n in ports else free_port()
    args = ["--listen", f"127.0.0.1:{port}", "--data", str(home / "data"), "--key", str(home / "log.key"),
            "--devices", str(home / "devices.json"), "--witness-config", str(home / "peers.json"),
            "--witness-key", str(home / "witness.key"), "--witnesses", str(home / "witnesses.json"),
            "--witness-interval", INTERVAL]
    return Node(home, log, port, args)


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[list[Node]]:
    ports = {n: free_port() for n in range(3)}
    nodes = [write_node(tmp_path, n, [p for p in range(3) if p != n], ports) for n in range(3)]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def others(n: int) -> list[CosignatureVerifier]:
    return [cosigner(p) for p in range(3) if p != n]


def test_three_logs_witness_each_other_to_a_k_of_n_quorum(trio: list[Node]) -> None:
    assert all(node.cosigned()[0] == 404 for node in trio)  # nothing witnessed before the first record
    for node in trio:
        node.append(5)
    for n, node in enumerate(trio):
        note = wait_cosigned(node, 5)
        result = require_cosignatures(note, node.log.verifier, others(n), 2)
        assert result.checkpoint.tree_size == 5
        assert [name for name, _ in result.witnesses] == [w.name for w in others(n)]
        _, current = node.call("GET", "/v1/checkpoint")
        assert note.startswith(current)  # the log's own note, cosignature lines appended
        stranger = CosignatureVerifier("stranger.example/witness", PrivateKey(b"\x5f" * 32).public_key)
        with pytest.raises(QuorumNotMet, match="got 2; missing: stranger.example/witness"):
            require_cosignatures(note, node.log.verifier, [*others(n), stranger], 3)
        assert (node.home / "data" / "cosigned.checkpoint").read_bytes() == note
    trio[0].append(2)
    assert require_cosignatures(wait_cosigned(trio[0], 7), trio[0].log.verifier, others(0), 2) \
        .checkpoint.tree_size == 7


def test_a_witness_down_then_up_catches_up(trio: list[Node]) -> None:
    first, _, third = trio
    first.append(3)
    wait_cosigned(first, 3)
    third.stop()
    first.append(4)
    time.sleep(1.0)
    status, note = first.cosigned()
    assert status == 200 and int(note.split(b"\n")[1]) == 3  # 1 of 2 cosigned size 7: no quorum, old one served
    assert first.call("GET", "/v1/health")[0] == 200 and first.append(1) == 8  # appends never wait for witnesses
    assert f"witness n2.example/witness at 127.0.0.1:{third.port}: checkpoint" in first.stderr
    assert "PRIVATE+KEY" not in first.stderr
    third.start()  # same data and port: it holds size 3 for the first log and gets a proof 3 -> 8
    note = wait_cosigned(first, 8)
    assert require_cosignatures(note, first.log.verifier, others(0), 2).checkpoint.tree_size == 8
    assert "cosigned checkpoint 8 again" in first.stderr
    third.append(2)  # the restarted node's own submitter starts from old 0: each 409 names the held size
    assert require_cosignatures(wait_cosigned(third, 2), third.log.verifier, others(2), 2).checkpoint.tree_size == 2


def test_a_forked_log_with_the_same_key_is_refused_and_evidence_kept(trio: list[Node], tmp_path: Path) -> None:
    first, second, third = trio
    first.append(4)
    wait_cosigned(first, 4)
    held = first.call("GET", "/v1/checkpoint")[1]
    ports = {1: second.port, 2: third.port}
    fork = write_node(tmp_path, 9, [1, 2], ports, log=log_key(0), data="fork")
    try:
        fork.start()
        fork.append(6, tag=b"another history")  # same origin and key, a different tree of 6
        _until(lambda: fork.stderr.count("refused with 422") >= 2, 15)
        assert fork.stderr.count("refused with 422") >= 2, fork.stderr
        assert fork.cosigned()[0] == 404
        offered = fork.call("GET", "/v1/checkpoint")[1]
    finally:
        fork.stop()
    for witness in (second, third):
        status, body = witness.call("GET", "/v1/witness/evidence")
        assert status == 200
        [evidence] = [e for e in json.loads(body)["evidence"] if e["origin"] == log_key(0).name]
        assert (evidence["kind"], evidence["held"].encode(), evidence["offered"].encode()) == ("proof", held, offered)
    first.append(1)  # the honest log still gathers its quorum
    assert require_cosignatures(wait_cosigned(first, 5), first.log.verifier, others(0), 2).checkpoint.tree_size == 5


@pytest.fixture
def liar(tmp_path: Path) -> Iterator[tuple[LedgerNode, int, CosignatureSigner]]:
    """An in-process log and a witness server whose cosigning key is not the one the log configured."""
    log = log_key(5)
    store = LedgerStore(tmp_path / "log.db", log.private_key)
    node = LedgerNode(store, log, {"monitor-1": DEVICE.public_key})
    real = CosignatureSigner("liar.example/witness", PrivateKey(b"\x61" * 32))
    witness = Witness(tmp_path / "witness.db", real, [WitnessedLog(log.name, log.verifier)])
    witness_node = LedgerNode(LedgerStore(tmp_path / "w.db", witness_key(5).private_key), witness_key(5), {})
    server = LedgerServer(("127.0.0.1", 0), witness_node, PayloadStore(tmp_path / "payloads"), witness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield node, server.server_port, real
    finally:
        server.shutdown()
        server.server_close()
        witness.close()
        witness_node.store.close()
        store.close()


def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_cosignature_by_another_key_never_counts(liar: tuple[LedgerNode, int, CosignatureSigner]) -> None:
    node, port, real = liar
    envelope = RecordEnvelope("vitals", "monitor-1", 1, time.time_ns(), time.time_ns(), payload_digest(b"x"), 1)
    assert node.add_records([envelope.sign(DEVICE).to_bytes()])[0].index == 0  # type: ignore[union-attr]
    claimed = CosignatureVerifier(real.name, PrivateKey(b"\x62" * 32).public_key)  # same name, another key
    out = io.StringIO()
    policy = WitnessPolicy((WitnessPeer(real.name, claimed, f"http://127.0.0.1:{port}"),), 1)
    submitter = Submitter(node.checkpoint, node.store.consistency_proof, node.signer.verifier, policy,
                          interval=0.05, out=out).start()
    try:
        _until(lambda: "attempt 2" in out.getvalue())
        assert submitter.cosigned() is None
        assert "checkpoint 1 not cosigned (attempt 1" in out.getvalue(), out.getvalue()
    finally:
        submitter.close()
    honest = Submitter(node.checkpoint, node.store.consistency_proof, node.signer.verifier,
                       WitnessPolicy((WitnessPeer(real.name, real.verifier, f"http://127.0.0.1:{port}"),), 1),
                       interval=0.05, out=out).start()
    try:
        _until(lambda: honest.cosigned() is not None)
        note = honest.cosigned()
        assert note is not None and require_cosignatures(note, node.signer.verifier, [real.verifier], 1)
    finally:
        honest.close()


def test_the_witnesses_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    entry = {"name": cosigner(1).name, "vkey": cosigner(1).vkey(), "url": "http://10.0.0.1:8470"}
    path.write_text(json.dumps({"witnesses": [entry]}))
    assert load_witnesses(path).quorum == 1
    for document, message in [
        ({"witnesses": [entry], "quorum": 2}, "quorum: expected 1..1"),
        ({"witnesses": [{**entry, "name": "other"}]}, "its vkey names"),
        ({"witnesses": [{**entry, "url": "10.0.0.1:8470"}]}, "url: expected http://host:port"),
        ({"witnesses": [{**entry, "vkey": log_key(1).verifier.vkey()}]}, "type byte 0x04"),
        ({"witnesses": [entry, entry]}, "each name once"),
    ]:
        path.write_text(json.dumps(document))
        with pytest.raises(Exception, match=message):
            load_witnesses(path)
