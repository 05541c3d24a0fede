"""Task inputs of a chosen size, and the work each represents, for local and offloaded runs.

Why "work units" rather than cycles: the tasks are pure Python whose cost grows linearly with
their input (samples, RR intervals, pixels), so speeds are measured in units per second by
timing a calibration input, and a task's compute time is predicted as units / speed.

Sizes: ``ecg_rpeaks`` and ``ecg_analyse`` take seconds of one 500 Hz ECG lead; ``arrhythmia``
a number of RR intervals; ``image_compress`` the side of a square tile in pixels.
"""

from __future__ import annotations

import base64
import random
from typing import Any

from devices.edge.offload import tasks
from devices.sensor.observations import SampledData
from devices.sensor.signals import EcgSynth

ECG_RATE_HZ = 500
ECG_FRAME_MS = 40
SIZE_UNITS = {"ecg_rpeaks": "s of ECG", "ecg_analyse": "s of ECG", "arrhythmia": "RR intervals",
              "image_compress": "px tile side"}
CALIBRATION_SIZE = {"ecg_rpeaks": 10.0, "ecg_analyse": 10.0, "arrhythmia": 2000.0, "image_compress": 128.0}


def _check(kind: str, size: float) -> None:
    if kind not in SIZE_UNITS:
        raise ValueError(f"task: expected one of {sorted(SIZE_UNITS)}, got {kind!r}")
    if not size > 0:
        raise ValueError(f"size: expected a positive number of {SIZE_UNITS[kind]} for {kind}, got {size!r}")


def ecg_samples(seconds: float, seed: int = 0) -> list[int]:
    """One lead of the sensor's synthetic ECG (the same signal the ECG stand-in streams)."""
    synth = EcgSynth(rate_hz=ECG_RATE_HZ, frame_ms=ECG_FRAME_MS, mean_bpm=72, seed=seed)
    frames = max(1, round(seconds * 1000 / ECG_FRAME_MS))
    samples: list[int] = []
    for k in range(frames):
        value = synth.frame(k, 0)[0].components[0].value
        if not isinstance(value, SampledData):
            raise TypeError(f"ECG frame {k}: expected sampled data, got {type(value).__name__}")
        samples.extend(value.data)
    return samples


def make_input(kind: str, size: float, seed: int = 0) -> dict[str, Any]:
    """The JSON input of one ``kind`` task of ``size`` (see the module docstring for units)."""
    _check(kind, size)
    if kind in ("ecg_rpeaks", "ecg_analyse"):
        return {"samples": ecg_samples(size, seed), "rate_hz": ECG_RATE_HZ}
    if kind == "arrhythmia":
        rng = random.Random(f"rr:{seed}")
        return {"rr_ms": [round(rng.gauss(830, 40), 1) for _ in range(int(size))]}
    side = int(size)
    tile = tasks.synthetic_tile(side, side, seed)
    return {"pixels": base64.b64encode(tile).decode(), "width": side, "height": side, "level": 6}


def work_units(kind: str, data: dict[str, Any]) -> float:
    """How much work an input is, in the unit its cost grows with."""
    if kind in ("ecg_rpeaks", "ecg_analyse"):
        return float(len(data["samples"]))
    if kind == "arrhythmia":
        return float(len(data["rr_ms"]))
    if kind == "image_compress":
        return float(data["width"] * data["height"])
    raise ValueError(f"task: expected one of {sorted(SIZE_UNITS)}, got {kind!r}")
