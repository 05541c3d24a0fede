"""Records/s and capture → ack latency through the real sensor agent into a real ledger process.

Two phases, both with real processes over loopback HTTP:

- ``live``: the agent captures ECG frames (500 Hz, 3 leads) at RATE frames/s for SECONDS; each
  frame is one record (synthesise, FHIR JSON, AES-GCM, Ed25519, durable enqueue with fsync,
  POST, ack). Reports the ack rate, capture → durable-enqueue and capture → ack latency.
- ``drain``: N records queued while the edge is down, then the ledger starts and a restarted
  agent sends the backlog in batches; reports the backlog's records/s.

    python bench/sensor_agent_throughput.py --rates 50 250 500 --seconds 4 --backlog 2000
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
DEVICE = "bench-1"


def sh(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=ENV, capture_output=True, text=True,
                          check=True).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ledger(tmp: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "devices.edge.ledger", "serve", "--listen", f"127.0.0.1:{port}",
                                "--data", str(tmp / "data"), "--key", str(tmp / "node.key"), "--devices",
                                str(tmp / "devices.json")], cwd=REPO, env=ENV, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().startswith("listening")
    return process


def agent(config: Path) -> tuple[int, float]:
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "devices.sensor", "run", "--config", str(config)], cwd=REPO,
                          env=ENV, capture_output=True, text=True, timeout=600)
    return done.returncode, time.monotonic() - began


def config(tmp: Path, name: str, port: int, rate: float, frames: int, drain_s: float = 30) -> Path:
    path = tmp / f"{name}.json"
    frame_ms = 1000 / rate
    path.write_text(json.dumps({
        "device_id": DEVICE, "kind": "ecg", "edge_url": f"http://127.0.0.1:{port}", "signing_key": "bench.key",
        "payload_key": "bench.aes", "queue": f"{name}.db", "stats": f"{name}.jsonl", "frames": frames,
        "drain_s": drain_s, "signal": {"rate_hz": 500, "frame_ms": frame_ms, "leads": ["I", "II", "V1"]}}))
    return path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 250, 500])
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--backlog", type=int, default=2000)
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sh("devices.edge.ledger", "keygen", "--name", "ledger.bench.example/log", "--out", str(tmp / "node.key"))
        enrolled = json.loads(sh("devices.sensor", "keygen", "--device", DEVICE, "--signing-key",
                                 str(tmp / "bench.key"), "--payload-key", str(tmp / "bench.aes")))
        (tmp / "devices.json").write_text(json.dumps({"devices": {DEVICE: enrolled["public_key"]}}))
        assert base64.b64decode(enrolled["public_key"])
        port = free_port()
        node = ledger(tmp, port)
        try:
            for n, rate in enumerate(args.rates):
                frames = int(rate * args.seconds)
                code, wall = agent(config(tmp, f"live{n}", port, rate, frames))
                # a ledger is per device sequence: a fresh queue restarts at seq 1, so use a fresh ledger each run
                acks = [x for x in lines(tmp / f"live{n}.jsonl") if x["event"] == "ack"]
                summary = lines(tmp / f"live{n}.jsonl")[-1]
                span = (max(a["ack_ns"] for a in acks) - min(a["capture_ns"] for a in acks)) / 1e9
                rows.append({"phase": "live", "rate_frames_s": rate, "frames": frames, "exit": code,
                             "acked": len(acks), "acked_per_s": round(len(acks) / span, 1),
                             "late_frames": summary["late_frames"], "max_late_ms": summary["max_late_ns"] / 1e6,
                             "posts": summary["posts"],
                             "capture_to_enqueue_ms": {q: pct([(a["enqueued_ns"] - a["capture_ns"]) / 1e6
                                                              for a in acks], v) for q, v in
                                                       (("p50", 0.5), ("p99", 0.99))},
                             "capture_to_ack_ms": {q: pct([(a["ack_ns"] - a["capture_ns"]) / 1e6 for a in acks], v)
                                                   for q, v in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}})
                node.send_signal(signal.SIGTERM)
                node.wait()
                subprocess.run(["rm", "-rf", str(tmp / "data")], check=True)
                node = ledger(tmp, port)
            node.send_signal(signal.SIGTERM)
            node.wait()
            subprocess.run(["rm", "-rf", str(tmp / "data")], check=True)
            down = free_port()
            backlog = config(tmp, "drain", down, 500, args.backlog, drain_s=0)
            fill_code, fill = agent(backlog)  # exits 3: every record still queued
            node = ledger(tmp, down)
            backlog.write_text(json.dumps({**json.loads(backlog.read_text()), "drain_s": 120}))
            code, wall = agent(backlog)
            rows.append({"phase": "drain", "records": args.backlog, "fill_exit": fill_code, "fill_s": round(fill, 2),
                         "exit": code, "drain_s_incl_startup": round(wall, 2),
                         "records_per_s": round(args.backlog / wall, 1)})
        finally:
            node.send_signal(signal.SIGTERM)
            node.wait()
    print(json.dumps({"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
                      "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
