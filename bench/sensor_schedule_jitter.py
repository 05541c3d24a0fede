"""Real-clock lateness of the sensor frame scheduler, idle and with a real frame's work per tick.

Each tick is due at start + k·period; lateness = fired − due (monotonic). "work" builds an
ECG frame per tick the way the agent does (synthesise the leads, FHIR JSON, AES-GCM, Ed25519)
but does not enqueue (the fsync is the queue benchmark's business). Prints one JSON document::

    python bench/sensor_schedule_jitter.py --period-ms 20 --frames 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.sensor.records import Frame, build_record  # noqa: E402
from devices.sensor.schedule import FrameScheduler, SystemClock  # noqa: E402
from devices.sensor.signals import EcgSynth  # noqa: E402
from devices.wire import PrivateKey  # noqa: E402


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3


def run(period_ms: float, frames: int, work: bool, interruptible: bool) -> dict[str, object]:
    synth = EcgSynth(rate_hz=500, frame_ms=period_ms, leads=("I", "II", "III", "V1", "V2", "V3", "V4", "V5"))
    key, aes = PrivateKey(b"\x01" * 32), b"\x02" * 32
    # the agent sleeps on an Event (SIGTERM cuts the sleep short); plain time.sleep for comparison
    scheduler = FrameScheduler(synth.period_ns, SystemClock(threading.Event() if interruptible else None))
    late: list[int] = []
    work_ns: list[int] = []
    for tick in scheduler.ticks(frames):
        late.append(tick.late_ns)
        if work:
            began = time.monotonic_ns()
            capture = time.time_ns()
            frame = Frame("bench-1", "ecg", tick.k, tick.k * synth.samples_per_frame, capture,
                          synth.frame(tick.k, capture))
            build_record(frame, tick.k + 1, key, aes)
            work_ns.append(time.monotonic_ns() - began)
    return {"period_ms": period_ms, "frames": frames, "work": work,
            "sleep": "Event.wait" if interruptible else "time.sleep",
            "late_us": {"p50": percentile(late, 0.5), "p99": percentile(late, 0.99), "max": max(late) / 1e3},
            "late_frames_over_one_period": scheduler.late,
            "last_frame_late_us": late[-1] / 1e3,  # = all the error accumulated over the run
            "work_us_p50": percentile(work_ns, 0.5) if work_ns else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period-ms", type=float, default=20)
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    rows = [run(args.period_ms, args.frames, work, interruptible) for interruptible in (False, True)
            for work in (False, True)]
    print(json.dumps({"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
                      "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
