"""The offload tasks on the sensor's synthetic ECG and on a synthetic image tile, run locally."""

from __future__ import annotations

import base64
import random
import zlib

import pytest

from devices.edge.offload import tasks
from devices.sensor.signals import EcgSynth

RATE = 500


def ecg_window(mean_bpm: float, seed: int, seconds: int = 10, peaks: list[float] | None = None
               ) -> tuple[list[int], list[float]]:
    """Lead II counts for ``seconds`` and the true R times inside the window."""
    synth = EcgSynth(rate_hz=RATE, mean_bpm=mean_bpm, seed=seed)
    if peaks is not None:
        synth.rhythm.peaks = peaks
    samples: list[int] = []
    for k in range(seconds * 25):  # 40 ms frames
        samples.extend(synth.frame(k, 0)[0].components[0].value.data)
    return samples, [p for p in synth.rhythm.peaks if p < seconds]


@pytest.mark.parametrize(("bpm", "seed"), [(60, 1), (72, 2), (110, 3)])
def test_rpeaks_find_the_beats_at_a_known_rate(bpm: float, seed: int) -> None:
    samples, truth = ecg_window(bpm, seed)
    out = tasks.run("ecg_rpeaks", {"samples": samples, "rate_hz": RATE})
    assert abs(len(out["peaks"]) - len(truth)) <= 1, (len(out["peaks"]), len(truth))
    found = [p / RATE for p in out["peaks"]]
    assert all(min(abs(f - t) for t in truth) < 0.05 for f in found)  # every detection is a real beat
    stats = out["hrv"]
    assert stats["mean_hr_bpm"] == pytest.approx(bpm, rel=0.1)
    assert 5 < stats["sdnn_ms"] < 150 and 5 < stats["rmssd_ms"] < 150 and 0 <= stats["pnn50_pct"] <= 100


def test_arrhythmia_flags_an_irregular_rhythm_and_not_a_regular_one() -> None:
    samples, _ = ecg_window(72, 4)
    regular = tasks.run("ecg_analyse", {"samples": samples, "rate_hz": RATE})
    assert regular["flags"] == []
    rng = random.Random(5)
    peaks = [0.3]
    while peaks[-1] < 12:
        peaks.append(peaks[-1] + rng.uniform(0.45, 1.2))  # AF-like: irregularly irregular
    samples, truth = ecg_window(72, 4, peaks=peaks)
    irregular = tasks.run("ecg_analyse", {"samples": samples, "rate_hz": RATE})
    assert abs(len(irregular["peaks"]) - len(truth)) <= 1
    assert "irregular" in irregular["flags"]
    assert tasks.arrhythmia_flags([1500.0] * 6)["flags"] == ["bradycardia"]
    assert tasks.arrhythmia_flags([500.0] * 6)["flags"] == ["tachycardia"]
    assert "premature-beats" in tasks.arrhythmia_flags([800, 800, 500, 1100, 800, 800])["flags"]


def test_image_task_round_trip() -> None:
    pixels = tasks.synthetic_tile(64, 48, seed=1)
    out = tasks.run("image_compress", {"pixels": base64.b64encode(pixels).decode(), "width": 64, "height": 48,
                                       "level": 9})
    assert zlib.decompress(base64.b64decode(out["compressed"])) == pixels
    assert out["size_in"] == 64 * 48 and out["size_out"] < out["size_in"]
    assert sum(out["histogram"]) == 64 * 48
    assert out["edge_pixels"] > 0  # the tile has a step edge down its middle


def test_bad_input_says_expected_and_got() -> None:
    with pytest.raises(tasks.TaskError, match="kind: expected one of .* got 'fft'"):
        tasks.run("fft", {})
    with pytest.raises(tasks.TaskError, match="expected width\\*height = 6 bytes, got 5"):
        tasks.image_compress(b"12345", 3, 2)
    with pytest.raises(tasks.TaskError, match="samples: expected list, got str"):
        tasks.run("ecg_rpeaks", {"samples": "x", "rate_hz": RATE})
