"""The ledger node as a real process over loopback HTTP: append, checkpoint, proofs, blocks,
payloads, restart."""

from __future__ import annotations

import base64
import hashlib
import http.client
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
from ledger_support import serve_on_loopback

from devices.wire import (
    Checkpoint,
    Ed25519Verifier,
    PrivateKey,
    RecordEnvelope,
    SignedBlock,
    leaf_hash,
    open_checkpoint,
    payload_digest,
    verify_consistency,
    verify_inclusion,
    verify_link,
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

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                ) -> tuple[int, bytes]:
        """One request on a fresh connection, any method, exact body bytes."""
        host, port = self.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request(method, path, body, headers or {})
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

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
    process, url = serve_on_loopback(tmp)
    return Node(url, process, verifier)


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
        assert (status, answer["index"], answer["tree_size"], answer["block"]) == (201, 0, 1, 0)

        batch = [_record(MONITOR, "monitor-1", seq) for seq in (2, 3)] + [_record(PUMP, "pump-1", 1)]
        status, answer = node.post("/v1/records", {"records": [_b64(r) for r in batch]})
        assert status == 201
        assert [r["index"] for r in answer["results"]] == [1, 2, 3]
        assert [r["block"] for r in answer["results"]] == [1, 1, 1]  # one POST, one transaction, one block

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
        assert answer["last_seq"] == 3
    finally:
        restarted.stop()
    audit = subprocess.run([sys.executable, "-m", "devices.edge.ledger", "verify", str(tmp / "data"),
                            "--devices", str(tmp / "devices.json")], cwd=REPO, env=ENV, capture_output=True, text=True)
    assert audit.returncode == 0 and "10 entries, 18 hashes, 3 blocks, 2 devices, 0 payloads" in audit.stdout, audit


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


def test_blocks_over_http_chain_and_commit_to_checkpoints(setup: tuple[Path, Ed25519Verifier]) -> None:
    tmp, verifier = setup
    node = _start(tmp, verifier)
    try:
        assert node.get("/v1/blocks/0")[0] == 404
        for seq in range(1, 4):
            records = [_b64(_record(MONITOR, "monitor-1", seq * 10 + n)) for n in range(seq)]
            assert node.post("/v1/records", {"records": records})[0] == 201
        previous = None
        for height in range(3):
            document = node.json(f"/v1/blocks/{height}")
            block = SignedBlock.from_bytes(base64.b64decode(document["signed_header"]))
            verify_link(previous, block)
            block.verify(verifier.public_key)  # the node's checkpoint key signs its blocks too
            assert document == {"height": height, "previous": _b64(block.header.previous),
                                "tree_size": block.header.tree_size, "root": _b64(block.header.root),
                                "time_ns": block.header.time_ns, "signature": _b64(block.signature),
                                "hash": _b64(block.hash()), "signed_header": document["signed_header"]}
            previous = block
        assert previous is not None and previous.header.tree_size == 6
        assert previous.header.root == _checkpoint(node).root_hash
        status, body = node.get("/v1/blocks/3")
        assert status == 404 and "expected a height below 3" in json.loads(body)["error"]
        status, body = node.get("/v1/blocks/x1")
        assert status == 400 and "block height" in json.loads(body)["error"]
    finally:
        node.stop()
    assert (tmp / "data" / "node.vkey").read_text().strip() == verifier.vkey()


def test_payloads_are_content_addressed_and_durable(setup: tuple[Path, Ed25519Verifier]) -> None:
    tmp, verifier = setup
    node = _start(tmp, verifier)
    body = b"\x00ciphertext\xff" * 1000
    name = hashlib.sha256(body).hexdigest()
    try:
        assert node.request("GET", f"/v1/payloads/{name}")[0] == 404
        status, answer = node.request("PUT", f"/v1/payloads/{name}", body)
        assert (status, json.loads(answer)) == (201, {"hash": name, "size": len(body), "created": True})
        stored = tmp / "data" / "payloads" / name[:2] / name
        before = stored.stat()
        status, answer = node.request("PUT", f"/v1/payloads/{name}", body)  # idempotent: nothing changes
        assert (status, json.loads(answer)["created"]) == (200, False)
        assert stored.stat().st_mtime_ns == before.st_mtime_ns and stored.stat().st_ino == before.st_ino
        assert node.request("GET", f"/v1/payloads/{name}") == (200, body)

        other = hashlib.sha256(b"other").hexdigest()
        status, answer = node.request("PUT", f"/v1/payloads/{other}", body)
        assert status == 400 and f"hashing to {name}" in json.loads(answer)["error"]
        status, answer = node.request("PUT", f"/v1/payloads/{name.upper()}", body)
        assert status == 400 and "64 lowercase hex digits" in json.loads(answer)["error"]
        status, answer = node.request("PUT", f"/v1/payloads/{other}", b"",
                                      {"Content-Length": str(16 * 1024 * 1024 + 1)})
        assert status == 413 and "at most 16777216 bytes" in json.loads(answer)["error"]
        assert sorted(p.name for p in (tmp / "data" / "payloads").rglob("*") if p.is_file()) == [name]
        assert not any((tmp / "data" / "payloads" / "tmp").iterdir())
    finally:
        node.stop()
    restarted = _start(tmp, verifier)
    try:
        assert restarted.request("GET", f"/v1/payloads/{name}") == (200, body)
    finally:
        restarted.stop()
