"""Caliper-style ingest rounds against a real ledger server process over HTTP.

Starts ``python -m devices.edge.ledger serve`` on loopback with a fresh data directory, then
runs rounds, each with ``--workers`` client processes (one keep-alive connection each,
disjoint devices, so sequence numbers never collide). Records are device-signed envelopes,
prepared before the round starts; a fraction ``--invalid`` carries a broken signature, so
the node refuses them (403) and goodput stays apart from throughput (ledger.md §1)::

    python bench/ledger_ingest.py                              # rounds 500, 1000, 2000 rec/s and max
    python bench/ledger_ingest.py --rounds 1000 max --seconds 10 --batch 1 --out ingest.json

Round specs: a number is a fixed send rate in records/s (open loop: each worker sends on its
own schedule whatever the answers, a request of ``--batch`` records every batch/rate·workers
seconds; if answers lag, it sends the next one as soon as the previous returns, and the
achieved send rate shows it); ``max`` sends back to back. Per round: send rate (records
sent/s), throughput (records answered/s, accepted or refused), goodput (records accepted,
durable, /s), latency of each record = its request's send → answer time (min/p50/p95/p99/max),
and the server's CPU (user+system seconds / wall seconds, from /proc; 1.0 = one core).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing as mp
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.wire import Ed25519Signer, PrivateKey, RecordEnvelope, payload_digest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEVICES_PER_WORKER = 8
PAYLOAD = b"\x5a" * 256  # stands for an encrypted vitals batch; only its hash and size go on chain
CLK_TCK = os.sysconf("SC_CLK_TCK")


def device_key(worker: int, device: int) -> PrivateKey:
    return PrivateKey(bytes([worker + 1, device + 1]) * 16)


def device_name(worker: int, device: int) -> str:
    return f"bench-{worker:02d}-{device:02d}"


def prepare(worker: int, first_seq: int, count: int, invalid: float) -> list[tuple[bytes, int]]:
    """``count`` signed records as base64 wire bytes, with how many of them are valid (0 or 1)."""
    digest, now = payload_digest(PAYLOAD), time.time_ns()
    out = []
    every = round(1 / invalid) if invalid > 0 else 0
    for n in range(count):
        device = n % DEVICES_PER_WORKER
        envelope = RecordEnvelope("vitals.ecg", device_name(worker, device), first_seq + n // DEVICES_PER_WORKER,
                                  now, now, digest, len(PAYLOAD))
        wire = envelope.sign(device_key(worker, device)).to_bytes()
        bad = every and n % every == every - 1
        if bad:
            wire = wire[:-1] + bytes([wire[-1] ^ 1])
        out.append((wire, 0 if bad else 1))
    return out


def worker_main(url: str, worker: int, rate: float | None, batch: int, seconds: float, first_seq: int,
                invalid: float, ready: threading.Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """One client: sends its share of the round and reports (latencies, sent, answered, accepted)."""
    count = int((rate * seconds if rate else 6000 * seconds) + batch)  # max: enough for 6000 rec/s per worker
    records = prepare(worker, first_seq, count, invalid)
    bodies = []
    for n in range(0, len(records) - batch + 1, batch):
        chunk = records[n:n + batch]
        bodies.append(json.dumps({"records": [base64.b64encode(w).decode() for w, _ in chunk]}).encode())
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    latencies: list[float] = []
    sent = answered = accepted = refused = 0
    interval = batch / rate if rate else 0.0
    ready.wait()  # every worker has signed its records: start together
    begin = time.perf_counter()
    end = begin + seconds
    for k, body in enumerate(bodies):
        due = begin + k * interval
        now = time.perf_counter()
        if now >= end:
            break
        if due > now:
            time.sleep(due - now)
        sent_at = time.perf_counter()
        conn.request("POST", "/v1/records", body, {"Content-Type": "application/json"})
        answer = conn.getresponse()
        document = json.loads(answer.read())
        took = time.perf_counter() - sent_at
        sent += batch
        for result in document.get("results", []):
            answered += 1
            if "index" in result:
                accepted += 1
            else:
                refused += 1
        latencies.extend([took] * batch)
    conn.close()
    results.put({"latencies": latencies, "sent": sent, "answered": answered, "accepted": accepted,
                 "refused": refused, "elapsed": max(time.perf_counter() - begin, seconds if rate else 0.0)})


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def run_round(url: str, server_pid: int, spec: str, index: int, args: argparse.Namespace) -> dict[str, object]:
    rate = None if spec == "max" else float(spec)
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    ready = mp.Barrier(args.workers + 1)
    workers = [mp.Process(target=worker_main, args=(url, w, rate / args.workers if rate else None, args.batch,
                                                    args.seconds, 1 + index * 10**7, args.invalid, ready, queue))
               for w in range(args.workers)]
    for process in workers:
        process.start()
    ready.wait(timeout=120)
    cpu0, wall0 = cpu_seconds(server_pid), time.perf_counter()
    reports = [queue.get(timeout=args.seconds + 120) for _ in workers]
    cpu1, wall1 = cpu_seconds(server_pid), time.perf_counter()
    for process in workers:
        process.join()
    elapsed = max(r["elapsed"] for r in reports)
    latencies = sorted(x for r in reports for x in r["latencies"])
    total = lambda key: sum(r[key] for r in reports)  # noqa: E731
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3, 3)  # noqa: E731
    return {
        "round": spec, "target_rate": rate, "workers": args.workers, "batch": args.batch,
        "seconds": round(elapsed, 3), "sent": total("sent"), "accepted": total("accepted"),
        "refused": total("refused"),
        "send_rate": round(total("sent") / elapsed, 1),
        "throughput": round(total("answered") / elapsed, 1),
        "goodput": round(total("accepted") / elapsed, 1),
        "latency_ms": {"min": pick(0), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99),
                       "max": round(latencies[-1] * 1e3, 3)} if latencies else {},
        "server_cpu_cores": round((cpu1 - cpu0) / (wall1 - wall0), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", nargs="+", default=["500", "1000", "2000", "max"])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each round")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--batch", type=int, default=10, help="records per POST /v1/records")
    parser.add_argument("--invalid", type=float, default=0.02, help="fraction of records with a bad signature")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledger-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        signer = Ed25519Signer("ledger.bench.example/log", PrivateKey(b"\xbe" * 32))
        (tmp / "node.key").write_text(signer.skey() + "\n")
        devices = {device_name(w, d): base64.b64encode(device_key(w, d).public_key.raw).decode()
                   for w in range(args.workers) for d in range(DEVICES_PER_WORKER)}
        (tmp / "devices.json").write_text(json.dumps({"devices": devices}))
        server = subprocess.Popen(
            [sys.executable, "-m", "devices.edge.ledger", "serve", "--listen", "127.0.0.1:0", "--data",
             str(tmp / "data"), "--key", str(tmp / "node.key"), "--devices", str(tmp / "devices.json")],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[2]
            rounds = [run_round(url, server.pid, spec, n, args) for n, spec in enumerate(args.rounds)]
            conn = http.client.HTTPConnection(*url.removeprefix("http://").split(":"), timeout=10)
            conn.request("GET", "/v1/metrics")
            scraped = conn.getresponse().read().decode()
            conn.close()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    metrics = {line.split()[0]: float(line.split()[1]) for line in scraped.splitlines()
               if line.startswith(("ledger_commits_total", "ledger_commit_items_total", "ledger_tree_size",
                                   "ledger_commit_batch_largest", "ledger_records_"))}
    document = {"bench": "ledger_ingest", "host": platform.node(), "cpus": os.cpu_count(),
                "python": platform.python_version(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "rounds": rounds, "server_metrics": metrics}
    text = json.dumps(document, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
