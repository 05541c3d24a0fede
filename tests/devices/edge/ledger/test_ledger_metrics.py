"""``GET /v1/metrics`` on a real node process: Prometheus text with the counters moving."""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import time
from pathlib import Path

from ledger_support import port_of, serve_on_loopback

from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest

REPO = Path(__file__).resolve().parents[4]
DEVICE = PrivateKey(b"\xc1" * 32)
SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?[0-9.e+]+$')


def _call(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body)
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read().decode()
    finally:
        conn.close()


def _metrics(port: int) -> dict[str, float]:
    status, content_type, text = _call(port, "GET", "/v1/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


def _record(kind: str, seq: int) -> str:
    envelope = RecordEnvelope(kind, "dev-1", seq, time.time_ns(), time.time_ns(), payload_digest(b"p"), 1)
    return base64.b64encode(envelope.sign(DEVICE).to_bytes()).decode()


def test_metrics_count_records_commits_and_latency(tmp_path: Path) -> None:
    signer = Ed25519Signer("ledger.metrics-test.example/log", PrivateKey(b"\xc0" * 32))
    (tmp_path / "node.key").write_text(signer.skey() + "\n")
    (tmp_path / "devices.json").write_text(json.dumps(
        {"devices": {"dev-1": base64.b64encode(DEVICE.public_key.raw).decode()}}))
    process, url = serve_on_loopback(tmp_path)
    try:
        port = port_of(url)
        before = _metrics(port)
        assert before["ledger_records_accepted_total"] == 0 and before["ledger_tree_size"] == 0
        assert before["ledger_block_height"] == -1
        body = {"records": [_record("vitals.ecg", 1), _record("vitals.ecg", 2), _record("nope", 3),
                            _record("vitals.ecg", 2)]}
        assert _call(port, "POST", "/v1/records", json.dumps(body).encode())[0] == 207
        assert _call(port, "POST", "/v1/records", json.dumps({"record": _record("trace.drug", 4)}).encode())[0] == 201
        after = _metrics(port)
        assert after["ledger_records_accepted_total"] == 3
        assert after['ledger_records_refused_total{reason="unknown_kind"}'] == 1
        assert after['ledger_records_refused_total{reason="sequence"}'] == 1
        assert after["ledger_tree_size"] == 3 and after["ledger_block_height"] == 1
        assert after["ledger_commits_total"] == 2 and after["ledger_commit_items_total"] == 4
        assert after["ledger_commit_latency_seconds_count"] == 2
        assert after['ledger_commit_latency_seconds_bucket{le="+Inf"}'] == 2
        assert after['ledger_request_records_bucket{le="5"}'] == 2
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
