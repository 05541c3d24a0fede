"""The ledger node as a real process over loopback HTTP: append, checkpoint, proofs, restart."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.wire import (
    Checkpoint,
    Ed25519Verifier,
    PrivateKey,
    RecordEnvelope,
    leaf_hash,
    open_checkpoint,
    payload_digest,
    verify_consistency,
    verify_inclusion,
)

REPO = Path(__file__).resolve().parents[4]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
ORIGIN = "ledger.edge-test.example/log"
MONITOR = PrivateKey(b"\x11" * 32)
PUMP = PrivateKey(b"\x22" * 32)


@dataclass
class Node:
    url: str
    process: subprocess.Popen[str]
    verifier: Ed25519Verifier

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def post(self, path: str, document: object) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=json.dumps(document).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def json(self, path: str) -> dict:
        status, body = self.get(path)
        assert status == 200, body
        return json.loads(body)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=10) == 0


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Ed25519Verifier]]:
    key = tmp_path / "node.key"
    made = subprocess.run([sys.executable, "-m", "devices.edge.ledger", "keygen", "--name", ORIGIN, "--out", str(key)],
                          cwd=REPO, env=ENV, capture_output=True, text=True, check=True)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    devices = {"devices": {"monitor-1": base64.b64encode(MONITOR.public_key.raw).decode(),
                           "pump-1": base64.b64encode(PUMP.public_key.raw).decode()}}
    (tmp_path / "devices.json").write_text(json.dumps(devices))
    yield tmp_path, Ed25519Verifier.from_vkey(made.stdout.strip())


def _start(tmp: Path, verifier: Ed25519Verifier) -> Node:
    process = subprocess.Popen(
        [sys.executable, "-m", "devices.edge.ledger", "serve", "--listen", "127.0.0.1:0", "--data", str(tmp / "data"),
         "--key", str(tmp / "node.key"), "--devices", str(tmp / "devices.json")],
        cwd=REPO, env=ENV, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return Node(line.split()[2], process, verifier)


def _record(key: PrivateKey, device: str, seq: int, payload: bytes = b"ciphertext") -> bytes:
    envelope = RecordEnvelope("vitals", device, seq, time.time_ns(), time.time_ns(), payload_digest(payload),
                              len(payload), f"edge-test/v1/payloads/{payload_digest(payload).hex()}")
    return envelope.sign(key).to_bytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _checkpoint(node: Node) -> Checkpoint:
    status, body = node.get("/v1/checkpoint")
    assert status == 200
    return open_checkpoint(body, node.verifier)[0]


def test_records_checkpoints_and_proofs_over_http(setup: tuple[Path, Ed25519Verifier]) -> None:
    tmp, verifier = setup
    node = _start(tmp, verifier)
    try:
        first = _record(MONITOR, "monitor-1", 1)
        status, answer = node.post("/v1/records", {"record": _b64(first)})
        assert (status, answer["index"], answer["tree_size"]) == (201, 0, 1)

        batch = [_record(MONITOR, "monitor-1", seq) for seq in (2, 3)] + [_record(PUMP, "pump-1", 1)]
        status, answer = node.post("/v1/records", {"records": [_b64(r) for r in batch]})
        assert status == 201
        assert [r["index"] for r in answer["results"]] == [1, 2, 3]

        old = _checkpoint(node)
        assert (old.origin, old.tree_size) == (ORIGIN, 4)
        wires = [first, *batch]
        entries = node.json("/v1/entries?start=0&end=4")["entries"]
        assert [base64.b64decode(e) for e in entries] == wires
        for index, wire in enumerate(wires):
            proof = node.json(f"/v1/proof/inclusion?index={index}&tree_size=4")["proof"]
            verify_inclusion(leaf_hash(wire), index, 4, [base64.b64decode(p) for p in proof], old.root_hash)

        more = [_record(PUMP, "pump-1", seq, payload=b"dose %d" % seq) for seq in range(2, 8)]
        assert node.post("/v1/records", {"records": [_b64(r) for r in more]})[0] == 201
        new = _checkpoint(node)
        assert new.tree_size == 10
        proof = node.json("/v1/proof/consistency?first=4&second=10")["proof"]
        verify_consistency(4, 10, old.root_hash, new.root_hash, [base64.b64decode(p) for p in proof])
        assert node.json("/v1/health") == {"status": "ok", "origin": ORIGIN, "tree_size": 10}
    finally:
        node.stop()

    restarted = _start(tmp, verifier)
    try:
        assert _checkpoint(restarted) == new
        status, answer = restarted.post("/v1/records", {"record": _b64(first)})
        assert status == 409 and "expected a sequence number above 3, got 1" in answer["error"]
    finally:
        restarted.stop()


def test_refusals_say_why(setup: tuple[Path, Ed25519Verifier]) -> None:
    tmp, verifier = setup
    node = _start(tmp, verifier)
    try:
        stranger = _record(PrivateKey(b"\x33" * 32), "intruder-9", 1)
        status, answer = node.post("/v1/records", {"record": _b64(stranger)})
        assert status == 403 and "not enrolled" in answer["error"]

        forged = _record(PUMP, "monitor-1", 1)  # enrolled name, wrong key
        status, answer = node.post("/v1/records", {"record": _b64(forged)})
        assert status == 403 and "monitor-1#1: signature does not verify" in answer["error"]

        status, answer = node.post("/v1/records", {"record": _b64(b"\x01garbage")})
        assert status == 400 and "malformed record" in answer["error"]

        good, replay = _record(MONITOR, "monitor-1", 5), _record(MONITOR, "monitor-1", 5)
        status, answer = node.post("/v1/records", {"records": [_b64(good), _b64(replay), _b64(stranger)]})
        assert status == 207
        assert [r.get("index", r.get("status")) for r in answer["results"]] == [0, 409, 403]

        for path, message in [
            ("/v1/proof/inclusion?index=0", "tree_size"),
            ("/v1/proof/inclusion?index=-1&tree_size=1", "index"),
            ("/v1/proof/inclusion?index=1&tree_size=1", "0 <= index < 1"),
            ("/v1/proof/inclusion?index=0&tree_size=2", "expected 0..1"),
            ("/v1/proof/consistency?first=0&second=1", "0 < first <= second"),
            ("/v1/entries?start=0&end=5", "got 0..5"),
        ]:
            status, body = node.get(path)
            assert status == 400 and message in json.loads(body)["error"], (path, body)
        assert node.get("/v1/nowhere")[0] == 404
        status, answer = node.post("/v1/records", {"entry": "x"})
        assert status == 400 and '"record"' in answer["error"]
        assert _checkpoint(node).tree_size == 1
    finally:
        node.stop()
