"""AT command round trip through the emulated modem's pty (and RFC 2217), as the driver sees it.

Starts ``python -m devices.modem`` as its own process (so client and emulator do not share a GIL),
opens the AT port with the real client, and times command → final result code, one at a time.
Prints one JSON document: per command and transport, count, p50/p90/p99/max and mean in µs::

    python bench/at_roundtrip.py                  # 5000 of each command over the pty
    python bench/at_roundtrip.py --count 20000 --rfc2217

The "driver" rows time the typed call (command + parse), e.g. ``serving_cell()``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.drivers.at import QuectelModem  # noqa: E402

COMMANDS = ["AT", "AT+CSQ", 'AT+QENG="servingcell"', "AT+CREG?;+CEREG?;+C5GREG?"]


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def measure(call: Callable[[], object], count: int, warmup: int = 200) -> dict[str, float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return {
        "count": count,
        "p50_us": round(percentile(samples, 50), 1),
        "p90_us": round(percentile(samples, 90), 1),
        "p99_us": round(percentile(samples, 99), 1),
        "max_us": round(samples[-1], 1),
        "mean_us": round(sum(samples) / len(samples), 1),
    }


def run(url: str, count: int) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    with QuectelModem.open(url) as modem:
        modem.at("ATE0")
        for command in COMMANDS:
            rows[command] = measure(lambda c=command: modem.at(c), count)
        rows["driver serving_cell()"] = measure(modem.serving_cell, count)
        rows["driver signal()"] = measure(modem.signal, count)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rfc2217", action="store_true", help="also measure over RFC 2217 on loopback")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="at-bench-") as tmp:
        link = Path(tmp) / "at"
        argv = [sys.executable, "-m", "devices.modem", "--link", str(link), "--attach-delay", "0"]
        if args.rfc2217:
            argv += ["--rfc2217", "127.0.0.1:0"]
        emulator = subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
        try:
            assert emulator.stdout is not None
            endpoints = {}
            for line in emulator.stdout:
                if line.strip() == "ready":
                    break
                key, _, value = line.strip().partition(": ")
                endpoints[key] = value
            results = {"pty": run(str(link), args.count)}
            if args.rfc2217:
                results["rfc2217"] = run(endpoints["rfc2217"], args.count)
        finally:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait(timeout=10)
    print(json.dumps({
        "bench": "at_roundtrip",
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "kernel": platform.release()},
        "emulator": "python -m devices.modem (RM520N dialect, separate process)",
        "results": results,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
