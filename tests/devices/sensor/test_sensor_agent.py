"""The agent as a real process against a real ledger process over loopback HTTP.

kill -9 mid-stream and restart, an edge that is down at start, an ack lost after the ledger
committed, and a device the ledger does not know. The ledger's per-device sequence check and
its entries are the proof: every record exactly once, in sequence.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.sensor.records import open_sealed
from devices.wire import PublicKey, SignedRecord, payload_digest

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
DEVICE = "monitor-1"


@dataclass
class Rig:
    tmp: Path
    public_key: PublicKey
    payload_key: bytes

    def config(self, edge_url: str, frames: int | None, name: str = "agent", device: str = DEVICE,
               drain_s: float = 15, kind: str = "ecg", signal: dict | None = None) -> Path:
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps({
            "device_id": device, "kind": kind, "edge_url": edge_url,
            "signing_key": f"{device}.key", "payload_key": f"{device}.aes", "queue": f"{name}-queue.db",
            "stats": f"{name}-stats.jsonl", "frames": frames, "seed": 11, "drain_s": drain_s,
            "signal": signal or {"rate_hz": 500, "frame_ms": 20, "leads": ["I", "II", "V1"]}}))
        return path


def _keygen(tmp: Path, device: str) -> dict[str, str]:
    made = subprocess.run([sys.executable, "-m", "devices.sensor", "keygen", "--device", device,
                           "--signing-key", str(tmp / f"{device}.key"), "--payload-key", str(tmp / f"{device}.aes")],
                          cwd=REPO, env=ENV, capture_output=True, text=True, check=True)
    return json.loads(made.stdout)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    subprocess.run([sys.executable, "-m", "devices.edge.ledger", "keygen", "--name", "ledger.sensor-test.example/log",
                    "--out", str(tmp_path / "node.key")], cwd=REPO, env=ENV, capture_output=True, check=True)
    enrolled = _keygen(tmp_path, DEVICE)
    assert oct((tmp_path / f"{DEVICE}.key").stat().st_mode & 0o777) == "0o600"
    (tmp_path / "devices.json").write_text(json.dumps({"devices": {DEVICE: enrolled["public_key"]}}))
    payload_key = base64.b64decode((tmp_path / f"{DEVICE}.aes").read_text())
    yield Rig(tmp_path, PublicKey(base64.b64decode(enrolled["public_key"])), payload_key)


@dataclass
class Ledger:
    url: str
    process: subprocess.Popen[str]

    def records(self) -> list[SignedRecord]:
        with urllib.request.urlopen(self.url + "/v1/health", timeout=10) as answer:
            size = json.loads(answer.read())["tree_size"]
        if size == 0:
            return []
        with urllib.request.urlopen(f"{self.url}/v1/entries?start=0&end={size}", timeout=10) as answer:
            entries = json.loads(answer.read())["entries"]
        return [SignedRecord.from_bytes(base64.b64decode(e)) for e in entries]

    def payload(self, digest: bytes) -> bytes:
        with urllib.request.urlopen(f"{self.url}/v1/payloads/{digest.hex()}", timeout=10) as answer:
            return answer.read()

    def post(self, wires: list[bytes]) -> int:
        body = json.dumps({"records": [base64.b64encode(w).decode() for w in wires]}).encode()
        request = urllib.request.Request(self.url + "/v1/records", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=10) == 0


@pytest.fixture
def ledgers(rig: Rig) -> Iterator[list[Ledger]]:
    started: list[Ledger] = []
    yield started
    for ledger in started:
        if ledger.process.poll() is None:
            ledger.stop()


def start_ledger(rig: Rig, started: list[Ledger], listen: str = "127.0.0.1:0") -> Ledger:
    process = subprocess.Popen(
        [sys.executable, "-m", "devices.edge.ledger", "serve", "--listen", listen, "--data", str(rig.tmp / "data"),
         "--key", str(rig.tmp / "node.key"), "--devices", str(rig.tmp / "devices.json")],
        cwd=REPO, env=ENV, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    ledger = Ledger(line.split()[2], process)
    started.append(ledger)
    return ledger


def start_agent(config: Path) -> subprocess.Popen[str]:
    agent = subprocess.Popen([sys.executable, "-m", "devices.sensor", "run", "--config", str(config)],
                             cwd=REPO, env=ENV, stderr=subprocess.PIPE, text=True)
    assert agent.stderr is not None
    line = agent.stderr.readline()
    assert line.startswith(f"running {DEVICE} ") or line.startswith("running "), line
    return agent


def finish(agent: subprocess.Popen[str], timeout: float = 25) -> tuple[int, str]:
    try:
        _, err = agent.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        agent.kill()
        raise
    return agent.returncode, err


def stats(rig: Rig, name: str = "agent") -> list[dict]:
    path = rig.tmp / f"{name}-stats.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition, timeout: float = 15, what: str = "") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def pending(rig: Rig, name: str = "agent") -> int:
    with sqlite3.connect(rig.tmp / f"{name}-queue.db") as db:
        return int(db.execute("SELECT count(*) FROM pending").fetchone()[0])


def assert_exactly_once_in_order(rig: Rig, ledger: Ledger, frames: int, name: str = "agent") -> None:
    records = ledger.records()
    assert [(r.envelope.device_id, r.envelope.seq) for r in records] == [(DEVICE, s) for s in range(1, frames + 1)]
    for record in records:
        record.verify(rig.public_key)
        envelope = record.envelope
        ciphertext = ledger.payload(envelope.payload_hash)  # from the edge's off-chain store
        assert (envelope.payload_hash, envelope.payload_size) == (payload_digest(ciphertext), len(ciphertext))
        assert envelope.kind == "vitals.ecg" and envelope.created_ns <= envelope.signed_ns
        document = json.loads(open_sealed(rig.payload_key, DEVICE, envelope.seq, ciphertext))
        assert (document["seq"], document["frame"], document["sample_index"]) == \
            (envelope.seq, envelope.seq - 1, (envelope.seq - 1) * 10)
        assert document["capture_ns"] == envelope.created_ns
        wave, heart_rate = document["observations"]
        assert wave["code"]["coding"][0]["code"] == "131328" and len(wave["component"]) == 3
        assert heart_rate["code"]["coding"][0] == {"system": "http://loinc.org", "code": "8867-4",
                                                   "display": "Heart rate"}


def test_kill_9_mid_stream_then_restart_every_record_once(rig: Rig, ledgers: list[Ledger]) -> None:
    ledger = start_ledger(rig, ledgers)
    frames = 250  # 5 s of 20 ms frames
    config = rig.config(ledger.url, frames)
    first = start_agent(config)
    wait_for(lambda: sum(1 for line in stats(rig) if line["event"] == "ack") >= 60, what="60 acks")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    acked_before = [line["seq"] for line in stats(rig) if line["event"] == "ack"]
    assert max(acked_before) < frames, "the kill must land mid-stream"

    second = start_agent(config)
    code, err = finish(second)
    assert code == 0, err
    assert_exactly_once_in_order(rig, ledger, frames)

    lines = stats(rig)
    starts = [line for line in lines if line["event"] == "start"]
    assert len(starts) == 2 and starts[1]["first_frame"] >= len(acked_before)
    assert starts[1]["next_seq"] == starts[1]["first_frame"] + 1
    acks = [line for line in lines if line["event"] == "ack"]
    assert {a["seq"] for a in acks} == set(range(1, frames + 1))
    for ack in acks:
        assert ack["capture_ns"] <= ack["enqueued_ns"] <= ack["send_ns"] <= ack["ack_ns"], ack
    (summary,) = [line for line in lines if line["event"] == "summary"]
    assert summary["pending"] == 0 and summary["refused"] is None
    assert summary["frames"] == frames - starts[1]["first_frame"]


def test_edge_down_at_start_records_queue_then_arrive_in_order(rig: Rig, ledgers: list[Ledger]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    frames = 100
    agent = start_agent(rig.config(f"http://127.0.0.1:{port}", frames))
    wait_for(lambda: pending(rig) >= 40, what="40 queued records")
    assert not [line for line in stats(rig) if line["event"] == "ack"]
    ledger = start_ledger(rig, ledgers, listen=f"127.0.0.1:{port}")
    code, err = finish(agent)
    assert code == 0, err
    assert_exactly_once_in_order(rig, ledger, frames)
    (summary,) = [line for line in stats(rig) if line["event"] == "summary"]
    assert summary["failures"] >= 1 and summary["acked"] == frames and summary["already_held"] == 0


def test_an_ack_lost_after_the_ledger_committed_is_not_sent_twice(rig: Rig, ledgers: list[Ledger]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    frames = 20
    config = rig.config(f"http://127.0.0.1:{port}", frames, drain_s=0.2)
    code, err = finish(start_agent(config))
    assert code == 3, err  # the edge never answered: everything still queued
    assert pending(rig) == frames

    ledger = start_ledger(rig, ledgers, listen=f"127.0.0.1:{port}")
    with sqlite3.connect(rig.tmp / "agent-queue.db") as db:
        wires = [bytes(w) for (w,) in db.execute("SELECT wire FROM pending ORDER BY seq LIMIT 5")]
    assert ledger.post(wires) == 201  # committed by the ledger, but the agent never saw the answer

    code, err = finish(start_agent(config))
    assert code == 0, err
    assert_exactly_once_in_order(rig, ledger, frames)
    acks = [line for line in stats(rig) if line["event"] == "ack"]
    assert [a["seq"] for a in acks if a["already_held"]] == [1, 2, 3, 4, 5]
    assert [a["seq"] for a in acks if not a["already_held"]] == list(range(6, frames + 1))


def test_a_device_the_ledger_does_not_know_stops_with_the_reason(rig: Rig, ledgers: list[Ledger]) -> None:
    ledger = start_ledger(rig, ledgers)
    _keygen(rig.tmp, "stranger-1")
    agent = subprocess.Popen([sys.executable, "-m", "devices.sensor", "run", "--config",
                              str(rig.config(ledger.url, 10, name="stranger", device="stranger-1"))],
                             cwd=REPO, env=ENV, stderr=subprocess.PIPE, text=True)
    code, err = finish(agent)
    assert code == 2 and "not enrolled" in err, err
    assert ledger.records() == []
    assert pending(rig, "stranger") >= 1, "a refused record stays queued; nothing is dropped"


def test_sigterm_stops_capture_drains_and_exits_even_mid_period(rig: Rig, ledgers: list[Ledger]) -> None:
    ledger = start_ledger(rig, ledgers)
    agent = start_agent(rig.config(ledger.url, None))
    wait_for(lambda: sum(1 for line in stats(rig) if line["event"] == "ack") >= 20, what="20 acks")
    agent.send_signal(signal.SIGTERM)
    code, err = finish(agent, timeout=10)
    assert code == 0, err
    (summary,) = [line for line in stats(rig) if line["event"] == "summary"]
    assert summary["pending"] == 0 and summary["frames"] >= 20
    assert [r.envelope.seq for r in ledger.records()] == list(range(1, summary["next_seq"]))

    # a 5-minute NIBP cycle: SIGTERM must not wait for the next reading
    nibp = start_agent(rig.config(ledger.url, None, name="nibp", kind="nibp", signal={"interval_s": 300}))
    time.sleep(0.3)
    began = time.monotonic()
    nibp.send_signal(signal.SIGTERM)
    code, err = finish(nibp, timeout=10)
    assert code == 0 and time.monotonic() - began < 3, err
