"""Durable append throughput and commit latency of the ledger store with group commit.

Every figure is acknowledged-durable: an append counts once its transaction's COMMIT
(WAL, synchronous=FULL) has returned. Records are real device-signed envelopes, prepared
before timing; with ``--verify`` each appender parses and Ed25519-verifies its record
before appending, as the HTTP service will. Prints one JSON document with one row per run::

    python bench/ledger_commit.py                       # the default set of runs below
    python bench/ledger_commit.py --runs closed:16:verify open:2000

Run specs: ``closed:THREADS[:verify][:batchN]``, each thread appending back to back (with
batchN, N records per call, like a batch POST); ``open:RATE``, records submitted on a fixed
schedule regardless of acknowledgements (no coordinated omission), latency = submit → ack.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.edge.ledger import Append, Appended, LedgerStore  # noqa: E402
from devices.wire import PrivateKey, RecordEnvelope, SignedRecord, payload_digest  # noqa: E402

DEVICES = 64
BLOCK_KEY = PrivateKey(b"\xb0" * 32)  # the node key: one signed block per commit
DEFAULT_RUNS = ["closed:1", "closed:8", "closed:32", "closed:32:verify", "closed:4:verify:batch64", "open:2000"]


def make_records(count: int) -> tuple[list[bytes], dict[str, PrivateKey]]:
    keys = {f"monitor-{d:03d}": PrivateKey(bytes([d + 1]) * 32) for d in range(DEVICES)}
    names = list(keys)
    now = time.time_ns()
    records = []
    for n in range(count):
        device = names[n % DEVICES]
        payload = n.to_bytes(8, "big") * 32
        envelope = RecordEnvelope("vitals", device, n // DEVICES + 1, now, now, payload_digest(payload),
                                  len(payload), "")
        records.append(envelope.sign(keys[device]).to_bytes())
    return records, keys


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.50) * 1e3, 3), "p99_ms": round(pick(0.99) * 1e3, 3),
            "max_ms": round(ordered[-1] * 1e3, 3), "mean_ms": round(statistics.fmean(ordered) * 1e3, 3)}


def closed_loop(store: LedgerStore, records: list[bytes], keys: dict[str, PrivateKey], threads: int,
                verify: bool, batch: int, seconds: float) -> dict[str, object]:
    public = {name: key.public_key for name, key in keys.items()}
    latencies: list[list[float]] = [[] for _ in range(threads)]
    done = [0] * threads
    stop = threading.Event()
    per_thread = len(records) // threads

    def to_append(wire: bytes) -> Append:
        record = SignedRecord.from_bytes(wire)
        if verify:
            record.verify(public[record.envelope.device_id])
        return Append(wire)  # no device/seq: threads share devices, so their sequence numbers interleave

    def worker(t: int) -> None:
        mine = records[t * per_thread:(t + 1) * per_thread]
        position = 0
        while not stop.is_set() and position + batch <= len(mine):
            chunk = mine[position:position + batch]
            started = time.perf_counter()
            outcomes = store.append_many([to_append(wire) for wire in chunk])
            latencies[t].append(time.perf_counter() - started)
            assert all(isinstance(o, Appended) for o in outcomes)
            position += batch
            done[t] += batch

    before = (store.commit_stats.commits, store.commit_stats.items)
    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    stop.wait(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    commits = store.commit_stats.commits - before[0]
    items = store.commit_stats.items - before[1]
    return {"records": sum(done), "seconds": round(elapsed, 2), "records_per_s": round(sum(done) / elapsed),
            "commits": commits, "mean_batch": round(items / max(1, commits), 1),
            "call_latency": percentiles([x for per in latencies for x in per])}


def open_loop(store: LedgerStore, records: list[bytes], rate: float, seconds: float) -> dict[str, object]:
    count = min(len(records), int(rate * seconds))
    latencies: list[float] = []
    lock = threading.Lock()
    before = (store.commit_stats.commits, store.commit_stats.items)
    start = time.perf_counter() + 0.05
    futures = []
    for n in range(count):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        future = store.submit([Append(records[n])])

        def acked(_: object, due: float = due) -> None:
            with lock:
                latencies.append(time.perf_counter() - due)  # from the scheduled time, not the send

        future.add_done_callback(acked)
        futures.append(future)
    for future in futures:
        future.result()
    elapsed = time.perf_counter() - start
    commits = store.commit_stats.commits - before[0]
    items = store.commit_stats.items - before[1]
    return {"records": count, "offered_per_s": rate, "achieved_per_s": round(count / elapsed),
            "commits": commits, "mean_batch": round(items / max(1, commits), 1),
            "commit_latency": percentiles(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="*", default=DEFAULT_RUNS)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--records", type=int, default=120_000, help="signed records prepared up front")
    parser.add_argument("--linger-ms", type=float, default=0.0)
    args = parser.parse_args()
    prepared = time.perf_counter()
    records, keys = make_records(args.records)
    prepared = time.perf_counter() - prepared
    results = []
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        for number, spec in enumerate(args.runs):
            kind, *rest = spec.split(":")
            with LedgerStore(Path(scratch) / f"run{number}.db", BLOCK_KEY, linger=args.linger_ms / 1e3) as store:
                if kind == "closed":
                    batch = next((int(x[5:]) for x in rest if x.startswith("batch")), 1)
                    row = closed_loop(store, records, keys, int(rest[0]), "verify" in rest, batch, args.seconds)
                elif kind == "open":
                    row = open_loop(store, records, float(rest[0]), args.seconds)
                else:
                    raise SystemExit(f"run spec {spec!r}: expected closed:THREADS[:verify][:batchN] or open:RATE")
            results.append({"run": spec, **row})
    print(json.dumps({
        "bench": "ledger_commit",
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
                 "load_avg_1m": round(os.getloadavg()[0], 2)},
        "durability": "WAL, synchronous=FULL; acknowledged after COMMIT",
        "record_bytes": len(records[0]),
        "prepare_seconds": round(prepared, 1),
        "linger_ms": args.linger_ms,
        "runs": results,
    }, indent=2))


if __name__ == "__main__":
    main()
