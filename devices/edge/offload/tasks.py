"""The offloadable tasks, pure Python and stdlib only, so a device runs exactly this code locally.

Local-vs-offload comparisons are only fair when both sides run the same algorithm: the worker
service (service.py) imports :func:`run` from here, and a device timing local execution calls the
same function. Every task takes and returns JSON-compatible values (the service's wire format).

Kinds:

- ``ecg_rpeaks``  {"samples": [int|float], "rate_hz": int} → R-peak indices, RR intervals, HRV.
  Pan-Tompkins-style: band-pass (moving-average low-pass minus a wide moving-average baseline),
  five-point derivative, squaring, 150 ms moving-window integration, adaptive threshold with a
  200 ms refractory period, then the peak is placed at the band-passed maximum of its window.
- ``arrhythmia``  {"rr_ms": [float]} → rule flags (see :func:`arrhythmia_flags`).
- ``ecg_analyse`` the two above in one task: samples in, HRV and flags out.
- ``image_compress`` {"pixels": base64 grey bytes, "width", "height", "level"} → zlib-compressed
  tile (base64), a 16-bin histogram and the Sobel edge-pixel count.
"""

from __future__ import annotations

import base64
import math
import random
import time
import zlib
from collections.abc import Callable
from typing import Any


class TaskError(ValueError):
    """The task input is malformed; the message says what was expected and what came."""


# ECG ---------------------------------------------------------------------------------------


def _moving_average(x: list[float], width: int) -> list[float]:
    """Centred moving average (edges use the samples available), O(n) via a running sum."""
    n, half = len(x), width // 2
    prefix = [0.0]
    for v in x:
        prefix.append(prefix[-1] + v)
    return [(prefix[min(n, i + half + 1)] - prefix[max(0, i - half)]) / (min(n, i + half + 1) - max(0, i - half))
            for i in range(n)]


def detect_rpeaks(samples: list[float], rate_hz: float) -> list[int]:
    """Indices of R peaks in one ECG lead (any units), Pan-Tompkins style."""
    if rate_hz <= 0:
        raise TaskError(f"rate_hz: expected a positive rate, got {rate_hz!r}")
    x = [float(v) for v in samples]
    if len(x) < rate_hz:
        raise TaskError(f"samples: expected at least 1 s ({int(rate_hz)} samples), got {len(x)}")
    low = _moving_average(x, max(1, round(0.012 * rate_hz)))          # ~40 Hz low-pass
    baseline = _moving_average(low, max(1, round(0.2 * rate_hz)))     # ~5 Hz high-pass by subtraction
    band = [a - b for a, b in zip(low, baseline, strict=True)]
    deriv = [0.0] * 4 + [(2 * band[i] + band[i - 1] - band[i - 3] - 2 * band[i - 4]) / 8 for i in range(4, len(band))]
    integrated = _moving_average([d * d for d in deriv], max(1, round(0.15 * rate_hz)))
    ordered = sorted(integrated)
    floor, top = ordered[len(ordered) // 2], ordered[int(0.98 * (len(ordered) - 1))]
    threshold = floor + 0.3 * (top - floor)
    refractory = round(0.2 * rate_hz)
    search = round(0.15 * rate_hz)
    peaks: list[int] = []
    i = 1
    while i < len(integrated) - 1:
        if integrated[i] > threshold and integrated[i] >= integrated[i - 1] and integrated[i] >= integrated[i + 1]:
            lo, hi = max(0, i - search), min(len(band), i + search // 3 + 1)
            r = max(range(lo, hi), key=lambda k: abs(band[k]))
            if not peaks or r - peaks[-1] > refractory:
                peaks.append(r)
            i += refractory
        else:
            i += 1
    return peaks


def hrv(rr_ms: list[float]) -> dict[str, float]:
    """Time-domain HRV: mean RR, mean HR, SDNN, RMSSD, pNN50 (needs at least 3 intervals)."""
    if len(rr_ms) < 3:
        raise TaskError(f"rr_ms: expected at least 3 RR intervals, got {len(rr_ms)}")
    mean = sum(rr_ms) / len(rr_ms)
    sdnn = math.sqrt(sum((r - mean) ** 2 for r in rr_ms) / (len(rr_ms) - 1))
    diffs = [b - a for a, b in zip(rr_ms, rr_ms[1:], strict=False)]
    rmssd = math.sqrt(sum(d * d for d in diffs) / len(diffs))
    pnn50 = 100.0 * sum(abs(d) > 50 for d in diffs) / len(diffs)
    return {"mean_rr_ms": mean, "mean_hr_bpm": 60_000.0 / mean, "sdnn_ms": sdnn, "rmssd_ms": rmssd,
            "pnn50_pct": pnn50}


# Rule thresholds: bradycardia / tachycardia on the mean rate (adult resting limits); "irregular"
# when RMSSD exceeds 10 % of the mean RR (sinus rhythm with normal HRV sits at a few per cent,
# atrial fibrillation well above 10 %); "premature" counts beats whose RR is < 80 % of the
# previous one and followed by one > 110 % of it (a premature beat and its compensatory pause).
BRADY_BPM, TACHY_BPM, IRREGULAR_RMSSD_RATIO = 50.0, 100.0, 0.10


def arrhythmia_flags(rr_ms: list[float]) -> dict[str, Any]:
    """Rule-based flags from RR intervals: bradycardia, tachycardia, irregular, premature beats."""
    stats = hrv(rr_ms)
    premature = sum(1 for a, b, c in zip(rr_ms, rr_ms[1:], rr_ms[2:], strict=False) if b < 0.8 * a and c > 1.1 * a)
    flags = []
    if stats["mean_hr_bpm"] < BRADY_BPM:
        flags.append("bradycardia")
    if stats["mean_hr_bpm"] > TACHY_BPM:
        flags.append("tachycardia")
    if stats["rmssd_ms"] > IRREGULAR_RMSSD_RATIO * stats["mean_rr_ms"]:
        flags.append("irregular")
    if premature:
        flags.append("premature-beats")
    return {"flags": flags, "premature_beats": premature, "rmssd_ratio": stats["rmssd_ms"] / stats["mean_rr_ms"]}


def _ecg_rpeaks(data: dict[str, Any]) -> dict[str, Any]:
    samples, rate = _field(data, "samples", list), _field(data, "rate_hz", (int, float))
    peaks = detect_rpeaks(samples, rate)
    rr = [(b - a) * 1000.0 / rate for a, b in zip(peaks, peaks[1:], strict=False)]
    return {"peaks": peaks, "rr_ms": rr, "hrv": hrv(rr) if len(rr) >= 3 else None}


def _arrhythmia(data: dict[str, Any]) -> dict[str, Any]:
    return arrhythmia_flags([float(v) for v in _field(data, "rr_ms", list)])


def _ecg_analyse(data: dict[str, Any]) -> dict[str, Any]:
    out = _ecg_rpeaks(data)
    if out["hrv"] is None:
        raise TaskError(f"samples: expected at least 4 beats to analyse, found {len(out['peaks'])}")
    return {**out, **arrhythmia_flags(out["rr_ms"])}


# Imaging -----------------------------------------------------------------------------------


def synthetic_tile(width: int, height: int, seed: int = 0) -> bytes:
    """A grey-scale tile with smooth anatomy-like blobs, an edge and noise (compresses like a scan)."""
    rng = random.Random(f"tile:{seed}")
    blobs = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(5, width / 3), rng.uniform(40, 120))
             for _ in range(4)]
    out = bytearray(width * height)
    for y in range(height):
        for x in range(width):
            v = 30.0 + (60.0 if x > width // 2 else 0.0)
            for bx, by, r, a in blobs:
                v += a * math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * r * r))
            out[y * width + x] = max(0, min(255, int(v + rng.gauss(0, 3))))
    return bytes(out)


def image_compress(pixels: bytes, width: int, height: int, level: int = 6) -> dict[str, Any]:
    """zlib-compress an 8-bit tile and compute its 16-bin histogram and Sobel edge-pixel count."""
    if len(pixels) != width * height:
        raise TaskError(f"pixels: expected width*height = {width * height} bytes, got {len(pixels)}")
    histogram = [0] * 16
    for p in pixels:
        histogram[p >> 4] += 1
    edges = 0
    for y in range(1, height - 1):
        up, row, down = (y - 1) * width, y * width, (y + 1) * width
        for x in range(1, width - 1):
            gx = (pixels[up + x + 1] + 2 * pixels[row + x + 1] + pixels[down + x + 1]
                  - pixels[up + x - 1] - 2 * pixels[row + x - 1] - pixels[down + x - 1])
            gy = (pixels[down + x - 1] + 2 * pixels[down + x] + pixels[down + x + 1]
                  - pixels[up + x - 1] - 2 * pixels[up + x] - pixels[up + x + 1])
            edges += gx * gx + gy * gy > 128 * 128
    compressed = zlib.compress(pixels, level)
    return {"compressed": base64.b64encode(compressed).decode(), "size_in": len(pixels),
            "size_out": len(compressed), "histogram": histogram, "edge_pixels": edges}


def _image(data: dict[str, Any]) -> dict[str, Any]:
    width, height = _field(data, "width", int), _field(data, "height", int)
    level = data.get("level", 6)
    if not isinstance(level, int) or not 0 <= level <= 9:
        raise TaskError(f"level: expected a zlib level 0..9, got {level!r}")
    try:
        pixels = base64.b64decode(_field(data, "pixels", str), validate=True)
    except ValueError:
        raise TaskError("pixels: expected standard base64") from None
    return image_compress(pixels, width, height, level)


# Dispatch ----------------------------------------------------------------------------------


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TaskError(f"{name}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ecg_rpeaks": _ecg_rpeaks,
    "arrhythmia": _arrhythmia,
    "ecg_analyse": _ecg_analyse,
    "image_compress": _image,
}


def run(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Run task ``kind`` on ``data``; raises :class:`TaskError` for an unknown kind or bad input."""
    task = TASKS.get(kind)
    if task is None:
        raise TaskError(f"kind: expected one of {sorted(TASKS)}, got {kind!r}")
    if not isinstance(data, dict):
        raise TaskError(f"input: expected a JSON object, got {type(data).__name__}")
    return task(data)


def run_timed(kind: str, data: dict[str, Any]) -> tuple[dict[str, Any] | str, bool, int, int]:
    """Run in a worker process: (result or error message, ok, started ns, finished ns), wall clock."""
    started = time.time_ns()
    try:
        result: dict[str, Any] | str = run(kind, data)
        ok = True
    except (TaskError, TypeError, ValueError) as exc:  # e.g. a non-numeric sample: the input's fault
        result, ok = f"input: {exc}" if not isinstance(exc, TaskError) else str(exc), False
    return result, ok, started, time.time_ns()
