"""Edge completion time vs load ρ: measured queue wait and sojourn beside M/M/c and M/D/c.

A worker with ``--workers`` c processes is fed Poisson arrivals at λ = ρ·c / E[S] for each ρ,
open loop (devices/mec/runner.py: arrivals never wait for answers), E[S] calibrated first from
back-to-back tasks. The tasks take near-constant time (C_s² ≈ 0), so the reference's M/M/c
over-predicts the wait by about 2×; the Pollaczek–Khinchine value (M/D/1, exact for c = 1) and
its Allen–Cunneen M/G/c generalisation with the measured C_s² are printed beside it, and
``follows`` names whichever is nearer the measured mean wait. Prints one JSON document::

    python bench/offload.py                                 # loopback worker, c = 1, ~2 minutes
    python bench/offload.py --workers 2 --seconds 20 --rho 0.5 0.9
    python bench/offload.py --edge http://10.0.0.2:8480     # a worker already running (e.g. in a rig)

The measured wait is the worker's ``started − received``, so it includes the hand-off to a
worker process (about a millisecond on an idle worker; ``idle_overhead_ms``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.mec import client, workload  # noqa: E402
from devices.mec.model import allen_cunneen_wait_s, mmc_wait_s  # noqa: E402
from devices.mec.runner import Runner, RunSpec  # noqa: E402

RHOS = [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95]


def start_worker(workers: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "devices.edge.offload", "serve", "--listen", "127.0.0.1:0",
                             "--workers", str(workers), "--queue", "100000"], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"worker: expected 'listening on ...', got {line!r}")
    return proc, line.split()[2]


def calibrate(url: str, kind: str, size: float, count: int) -> tuple[float, float, float]:
    """Mean and C_s² of the edge's compute time, and the idle hand-off overhead (s)."""
    conn = client.EdgeConnection(url)
    body = client.encode_task(kind, workload.make_input(kind, size))
    try:
        runs = [client.offload(conn, kind, body) for _ in range(count + 2)][2:]  # two to warm up
    finally:
        conn.close()
    compute = [t.compute_s for t in runs]
    mean = statistics.fmean(compute)
    return mean, statistics.pvariance(compute) / mean**2, statistics.median(t.queue_s for t in runs)


def predictions(arrival: float, service_s: float, workers: int, cv2: float) -> dict[str, float]:
    """Mean wait (s) by M/M/c, M/D/c and M/G/c with the measured C_s²; inf where ρ ≥ 1."""
    if arrival * service_s >= workers:
        return {"mmc": math.inf, "mdc": math.inf, "mgc": math.inf}
    return {"mmc": mmc_wait_s(arrival, 1 / service_s, workers),
            "mdc": allen_cunneen_wait_s(arrival, service_s, workers, 0.0),
            "mgc": allen_cunneen_wait_s(arrival, service_s, workers, cv2)}


def level(url: str, kind: str, size: float, rho: float, workers: int, service_s: float, cv2: float,
          seconds: float, overhead_s: float) -> dict[str, object]:
    """One load: nominal λ from the calibrated E[S]; predictions also at the realised λ and E[S],
    since on a shared host the service time under load drifts from the idle calibration."""
    arrival = rho * workers / service_s
    spec = RunSpec(url, kind, size, count=0, mode="edge", arrival_rate=arrival, duration_s=seconds, seed=int(rho * 100),
                   concurrency=512)
    started = time.monotonic()
    records = [r for r in Runner(spec, None).run() if r["status"] == "ok"]
    elapsed = time.monotonic() - started
    waits = sorted(r["edge"]["queue_s"] for r in records)
    compute = [r["edge"]["compute_s"] for r in records]
    served = statistics.fmean(compute)
    realised = predictions(len(records) / elapsed, served, workers, statistics.pvariance(compute) / served**2)
    wait = statistics.fmean(waits) - overhead_s
    ms = 1e3

    def rounded(values: dict[str, float]) -> dict[str, float | None]:
        return {k: round(v * ms, 2) if math.isfinite(v) else None for k, v in values.items()}

    return {"rho": rho, "lambda_per_s": round(arrival, 2), "tasks": len(records),
            "realised_rho": round(len(records) / elapsed * served / workers, 3), "service_ms": round(served * ms, 2),
            "wait_ms": {"measured_mean": round(wait * ms, 2), "measured_p95": round(waits[int(0.95 * (len(waits) - 1))]
                                                                                    * ms, 2)},
            "predicted_wait_ms": rounded(predictions(arrival, service_s, workers, cv2)),
            "predicted_wait_ms_realised": rounded(realised),
            "sojourn_ms": {"measured_mean": round((wait + served) * ms, 2),
                           "mdc_realised": round((realised["mdc"] + served) * ms, 2)
                           if math.isfinite(realised["mdc"]) else None},
            "follows": min(realised, key=lambda k: abs(realised[k] - wait))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="worker processes c (default 1: this host has 2 cores)")
    parser.add_argument("--task", default="ecg_analyse", choices=sorted(workload.SIZE_UNITS))
    parser.add_argument("--size", type=float, default=30.0, help="task size (default 30 s of ECG: E[S] ~ 30 ms here)")
    parser.add_argument("--rho", type=float, nargs="+", default=RHOS, help="loads to measure")
    parser.add_argument("--seconds", type=float, default=12.0, help="Poisson arrivals per load level (s)")
    parser.add_argument("--edge", default=None, help="use this running worker instead of starting one")
    args = parser.parse_args()
    proc, url = (None, args.edge) if args.edge else start_worker(args.workers)
    try:
        service_s, cv2, overhead_s = calibrate(url, args.task, args.size, 20)
        rows = [level(url, args.task, args.size, rho, args.workers, service_s, cv2, args.seconds, overhead_s)
                for rho in args.rho]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
    print(json.dumps({"bench": "offload_queue", "host": platform.node(), "cpus": os.cpu_count(),
                      "python": platform.python_version(), "task": args.task, "size": args.size,
                      "workers": args.workers, "service_ms": round(service_s * 1e3, 2), "service_cv2": round(cv2, 4),
                      "idle_overhead_ms": round(overhead_s * 1e3, 3), "seconds_per_level": args.seconds,
                      "levels": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
