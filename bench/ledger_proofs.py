"""Proof latency and memory of the ledger store at large sizes; prints one JSON document.

Builds (or reopens, with ``--data``) a log of N leaves through the real store and its real
write path (group commit, WAL, synchronous=FULL, triggers), 32-byte leaves appended in large
transactions, then times random inclusion proofs, consistency proofs and past roots, each
checked by the verifier outside the timed part. Resident memory is sampled while the log
grows, to show it does not grow with the log::

    python bench/ledger_proofs.py                                # N = 1,000,000 in a temp dir
    python bench/ledger_proofs.py --size 10000000 --data /var/tmp/l10m   # ~1.3 GB, kept for reruns
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.edge.ledger import Append, LedgerStore  # noqa: E402
from devices.wire import PrivateKey, merkle  # noqa: E402

BATCH = 20_000
BLOCK_KEY = PrivateKey(b"\x42" * 32)  # signs one block per batch, as the node does


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.50) * 1e3, 4), "p99_ms": round(pick(0.99) * 1e3, 4),
            "max_ms": round(ordered[-1] * 1e3, 4), "mean_ms": round(statistics.fmean(ordered) * 1e3, 4)}


def build(store: LedgerStore, size: int) -> dict[str, object]:
    start, started, rss = store.size, time.perf_counter(), []
    for first in range(start, size, BATCH):
        store.append_many([Append(i.to_bytes(8, "big") * 4) for i in range(first, min(size, first + BATCH))])
        if (first // BATCH) % 50 == 0:
            rss.append(round(rss_mb(), 1))
    elapsed = time.perf_counter() - started
    appended = size - start
    return {"appended": appended, "seconds": round(elapsed, 1),
            "entries_per_s": round(appended / elapsed) if appended else None,
            "rss_mb_samples": rss}


def time_proofs(store: LedgerStore, samples: int, rng: random.Random) -> dict[str, object]:
    size, root = store.size, store.root()
    inclusion, consistency, past_roots = [], [], []
    for _ in range(samples):
        index = rng.randrange(size)
        started = time.perf_counter()
        proof = store.inclusion_proof(index)
        inclusion.append(time.perf_counter() - started)
        data = store.entries(index, index + 1)[0]
        merkle.verify_inclusion(merkle.leaf_hash(data), index, size, proof, root)
    for _ in range(samples):
        first = rng.randrange(1, size + 1)
        started = time.perf_counter()
        proof = store.consistency_proof(first)
        consistency.append(time.perf_counter() - started)
        started = time.perf_counter()
        old_root = store.root(first)
        past_roots.append(time.perf_counter() - started)
        merkle.verify_consistency(first, size, old_root, root, proof)
    return {"inclusion_proof": percentiles(inclusion), "consistency_proof": percentiles(consistency),
            "root_at_past_size": percentiles(past_roots)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--data", type=Path, help="keep the database here (reused if present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        path = (args.data or Path(scratch)) / "ledger.db"
        started = time.perf_counter()
        store = LedgerStore(path, BLOCK_KEY, max_batch=BATCH)
        opened = time.perf_counter() - started
        rss_open = rss_mb()
        built = build(store, args.size)
        rss_built = rss_mb()
        proofs = time_proofs(store, args.samples, random.Random(42))
        result = {
            "bench": "ledger_proofs",
            "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()},
            "size": store.size,
            "open_seconds_incl_quick_check": round(opened, 2),
            "build": built,
            "db_file_mb": round(path.stat().st_size / 2**20, 1),
            "bytes_per_entry": round(path.stat().st_size / max(1, store.size)),
            "rss_mb": {"after_open": round(rss_open, 1), "after_build": round(rss_built, 1),
                       "after_proofs": round(rss_mb(), 1)},
            "samples": args.samples,
            **proofs,
        }
        store.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
