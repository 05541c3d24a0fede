"""Replays, out-of-order records and malformed bodies: a 4xx naming the reason, and nothing
changes, checked on the real node process's files (ledger.db and its WAL byte for byte, the
payload directory) as well as its tree size and block count."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_support import port_of, serve_on_loopback

from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest

REPO = Path(__file__).resolve().parents[4]
MONITOR = PrivateKey(b"\x81" * 32)


def _wire(seq: int, key: PrivateKey = MONITOR, device: str = "monitor-1") -> bytes:
    envelope = RecordEnvelope("vitals", device, seq, time.time_ns(), time.time_ns(), payload_digest(b"x"), 1)
    return envelope.sign(key).to_bytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Node:
    def __init__(self, port: int, data: Path) -> None:
        self.port, self.data = port, data

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             ) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body, headers or {})
            answer = conn.getresponse()
            return answer.status, json.loads(answer.read())
        finally:
            conn.close()

    def post(self, document: object) -> tuple[int, dict]:
        return self.call("POST", "/v1/records", json.dumps(document).encode())

    def state(self) -> dict[str, object]:
        """Tree size, blocks, and a digest of every file that holds data (not the -shm index)."""
        files = {str(p.relative_to(self.data)): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in sorted(self.data.rglob("*")) if p.is_file() and not p.name.endswith("-shm")}
        size = self.call("GET", "/v1/health")[1]["tree_size"]
        blocks = 0
        while self.call("GET", f"/v1/blocks/{blocks}")[0] == 200:
            blocks += 1
        return {"size": size, "blocks": blocks, "files": files}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("refusals")
    signer = Ed25519Signer("ledger.refusal-test.example/log", PrivateKey(b"\x80" * 32))
    (tmp / "node.key").write_text(signer.skey() + "\n")
    (tmp / "devices.json").write_text(json.dumps({"devices": {"monitor-1": _b64(MONITOR.public_key.raw)}}))
    process, url = serve_on_loopback(tmp)
    started = Node(port_of(url), tmp / "data")
    assert started.post({"records": [_b64(_wire(seq)) for seq in (1, 2, 5)]})[0] == 201
    yield started
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


REFUSED_RECORDS = [
    ({"record": _b64(_wire(5))}, 409, "expected a sequence number above 5, got 5"),  # replay of the last
    ({"record": _b64(_wire(3))}, 409, "expected a sequence number above 5, got 3"),  # older: out of order
    ({"record": _b64(_wire(9, PrivateKey(b"\x82" * 32)))}, 403, "monitor-1#9: signature does not verify"),
    ({"record": _b64(_wire(9, device="stranger-1"))}, 403, "'stranger-1' is not enrolled"),
    ({"record": _b64(_wire(9)[:-1])}, 400, "malformed record: signed record: expected 64 signature bytes"),
    ({"record": _b64(_wire(9) + b"\x00")}, 400, "malformed record"),
    ({"record": _b64(b"\x02" + _wire(9)[1:])}, 400, "envelope version: expected 1, got 2"),
    ({"record": "not base64!"}, 400, "records[0]: expected standard base64"),
    ({"record": 7}, 400, "expected a base64 string, got int"),
    ({"records": []}, 400, "expected a list of 1..1000"),
    ({"records": "abc"}, 400, "expected a list of 1..1000"),
    ({"records": [_b64(_wire(9))] * 1001}, 400, "expected a list of 1..1000"),
    ({"record": _b64(_wire(9)), "records": []}, 400, 'expected a JSON object with "record"'),
    ([_b64(_wire(9))], 400, "body: expected a JSON object"),
]


@pytest.mark.parametrize(("document", "status", "reason"), REFUSED_RECORDS,
                         ids=[f"{n}-{case[1]}" for n, case in enumerate(REFUSED_RECORDS)])
def test_a_refused_record_says_why_and_changes_nothing(node: Node, document: object, status: int,
                                                       reason: str) -> None:
    before = node.state()
    got, answer = node.post(document)
    assert (got, reason in answer["error"]) == (status, True), answer
    if status == 409:
        assert answer["last_seq"] == 5
    assert node.state() == before


def test_a_batch_of_only_replays_is_refused_per_record_and_changes_nothing(node: Node) -> None:
    before = node.state()
    status, answer = node.post({"records": [_b64(_wire(seq)) for seq in (4, 5, 2)]})
    assert status == 207
    assert [(r["status"], r["last_seq"]) for r in answer["results"]] == [(409, 5)] * 3
    assert "expected a sequence number above 5, got 4" in answer["results"][0]["error"]
    assert node.state() == before


@pytest.mark.parametrize(("body", "headers", "status", "reason"), [
    (b"{not json", {}, 400, "body: expected JSON"),
    (b"", {}, 400, "body: expected JSON"),
    (b"", {"Content-Length": str(4 * 1024 * 1024 + 1)}, 413, "body: expected at most 4194304 bytes"),
])
def test_malformed_bodies_are_refused_and_change_nothing(node: Node, body: bytes, headers: dict[str, str],
                                                         status: int, reason: str) -> None:
    before = node.state()
    got, answer = node.call("POST", "/v1/records", body, headers)
    assert got == status and reason in answer["error"], answer
    assert node.state() == before


def test_refused_payload_puts_change_nothing(node: Node) -> None:
    before = node.state()
    good = hashlib.sha256(b"a").hexdigest()
    assert node.call("PUT", f"/v1/payloads/{good}", b"b")[0] == 400
    assert node.call("PUT", f"/v1/payloads/{good}x", b"a")[0] == 400
    assert node.call("PUT", "/v1/payloads/../../ledger.db", b"a")[0] == 404  # not one path segment: no route
    assert node.call("PUT", f"/v1/payloads/{good}", b"", {"Content-Length": str(16 * 1024 * 1024 + 1)})[0] == 413
    assert node.state() == before
