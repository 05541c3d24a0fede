"""Synthetic vital signs with a realistic shape and variability, one frame at a time.

Each synthesiser is deterministic for a seed, works in plain Python (a frame is at most a few
thousand samples, well inside what a Pi 3 does in pure Python per 40 ms; numpy would add a
60 MB dependency to every Pi image for no measured need) and may start at any frame index,
so a restarted agent continues where its queue says it stopped.

- ECG: a sum of Gaussians per beat (P, Q, R, S, T placed around each R peak, the T wave moving
  with the RR interval as QT does), beat times from a heart-rate-variability model (respiratory
  sinus arrhythmia at 0.25 Hz, Mayer waves at 0.1 Hz, random beat-to-beat jitter), per-lead
  gain, baseline wander and noise; 11073 waveform codes plus a LOINC heart rate per frame.
- SpO2 + pulse: 1 Hz numerics as mean-reverting random walks; optional 125 Hz plethysmogram
  (systolic peak and dicrotic wave per beat).
- NIBP: systolic/diastolic/mean readings, one per cycle.
- Infusion pump: status (rate) per period, with start, rate-change, occlusion-alarm and
  restart events.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol

from .observations import (
    BP_DIASTOLIC,
    BP_MEAN,
    BP_PANEL,
    BP_SYSTOLIC,
    ECG_LEADS,
    ECG_WAVE,
    HEART_RATE,
    PLETH,
    PUMP_RATE,
    SPO2,
    Coding,
    Component,
    Observation,
    Quantity,
    SampledData,
    ecg_lead_coding,
)

NS = 1_000_000_000
PUMP_EVENT_SYSTEM = "urn:hil-testbed:infusion-event"  # local codes: the IHE PCD event codes are unverified


class Synthesiser(Protocol):
    """Makes frame ``k`` (frames are asked for in increasing order from any start)."""

    kind: str
    period_ns: int
    samples_per_frame: int

    def frame(self, k: int, capture_ns: int) -> tuple[Observation, ...]: ...


def _period_ns(value_s: float, what: str) -> int:
    period = round(value_s * NS)
    if period <= 0:
        raise ValueError(f"{what}: expected a positive period, got {value_s!r} s")
    return period


# ECG ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wave:
    """One Gaussian of the PQRST complex: offset from the R peak (s), amplitude (mV), width (s)."""

    offset_s: float
    amplitude_mv: float
    width_s: float
    qt_scaled: bool = False  # repolarisation (T) follows the RR interval, Bazett-like


PQRST = (Wave(-0.16, 0.12, 0.022), Wave(-0.028, -0.12, 0.008), Wave(0.0, 1.1, 0.010),
         Wave(0.028, -0.28, 0.009), Wave(0.27, 0.32, 0.05, qt_scaled=True))
LEAD_GAIN = {"I": 0.55, "II": 1.0, "III": 0.45, "aVR": -0.75, "aVL": 0.15, "aVF": 0.7,
             "V1": -0.5, "V2": 0.4, "V3": 0.8, "V4": 1.2, "V5": 1.1, "V6": 0.9}
ECG_FACTOR_MV = 0.005  # mV per count: 200 counts/mV, ±5 mV fits 11 bits like MIT-BIH


class HeartRhythm:
    """R-peak times (s) from a mean rate with RSA, Mayer waves and beat-to-beat jitter."""

    def __init__(self, mean_bpm: float, seed: int) -> None:
        if not 30 <= mean_bpm <= 220:
            raise ValueError(f"heart rate: expected 30..220 bpm, got {mean_bpm!r}")
        self.mean_rr = 60.0 / mean_bpm
        self._rng = random.Random(f"rhythm:{seed}")
        self.peaks = [0.3]

    def rr_at(self, t: float) -> float:
        modulation = 1 + 0.05 * math.sin(2 * math.pi * 0.25 * t) + 0.03 * math.sin(2 * math.pi * 0.1 * t)
        return min(2.0, max(0.3, self.mean_rr * modulation + self._rng.gauss(0.0, 0.015)))

    def extend_to(self, t: float) -> None:
        while self.peaks[-1] < t:
            self.peaks.append(self.peaks[-1] + self.rr_at(self.peaks[-1]))

    def around(self, t: float, reach: float) -> list[tuple[float, float]]:
        """(R time, RR interval) of beats within ``reach`` seconds of ``t``; peaks must extend past it."""
        out = []
        for n in range(len(self.peaks) - 1, 0, -1):
            peak = self.peaks[n - 1]
            if peak < t - reach:
                break
            if peak <= t + reach:
                out.append((peak, self.peaks[n] - peak))
        return out

    def bpm_at(self, t: float) -> float:
        for n in range(len(self.peaks) - 1, 0, -1):
            if self.peaks[n - 1] <= t:
                return 60.0 / (self.peaks[n] - self.peaks[n - 1])
        return 60.0 / self.mean_rr


class EcgSynth:
    kind = "ecg"

    def __init__(self, rate_hz: int = 500, frame_ms: float = 40, leads: tuple[str, ...] = ("II",),
                 mean_bpm: float = 72, seed: int = 0) -> None:
        if not 250 <= rate_hz <= 1000:
            raise ValueError(f"ECG rate: expected 250..1000 Hz, got {rate_hz!r}")
        samples = rate_hz * frame_ms / 1000
        if samples != int(samples) or samples < 1:
            raise ValueError(f"ECG frame: expected a whole number of samples per frame, got {samples} "
                             f"({frame_ms} ms at {rate_hz} Hz)")
        unknown = [lead for lead in leads if lead not in ECG_LEADS]
        if not leads or unknown:
            raise ValueError(f"ECG leads: expected some of {sorted(ECG_LEADS)}, got {list(leads)}")
        self.rate_hz, self.leads = rate_hz, tuple(leads)
        self.samples_per_frame = int(samples)
        self.period_ns = _period_ns(frame_ms / 1000, "ECG frame")
        self.rhythm = HeartRhythm(mean_bpm, seed)
        self._seed = seed
        self._phases = {lead: random.Random(f"wander:{seed}:{lead}").uniform(0, 2 * math.pi) for lead in leads}

    def millivolts(self, t: float) -> float:
        """The lead-II-shaped signal at time ``t`` (s), before lead gain, wander and noise."""
        self.rhythm.extend_to(t + 1.0)
        value = 0.0
        for peak, rr in self.rhythm.around(t, 0.8):
            scale = math.sqrt(rr / 0.8)
            for wave in PQRST:
                offset = wave.offset_s * scale if wave.qt_scaled else wave.offset_s
                width = wave.width_s * scale if wave.qt_scaled else wave.width_s
                d = t - peak - offset
                value += wave.amplitude_mv * math.exp(-d * d / (2 * width * width))
        return value

    def frame(self, k: int, capture_ns: int) -> tuple[Observation, ...]:
        rng = random.Random(f"noise:{self._seed}:{k}")
        first = k * self.samples_per_frame
        times = [(first + i) / self.rate_hz for i in range(self.samples_per_frame)]
        base = [self.millivolts(t) for t in times]
        components = []
        for lead in self.leads:
            gain, phase = LEAD_GAIN[lead], self._phases[lead]
            counts = tuple(round((gain * v + 0.05 * math.sin(2 * math.pi * 0.25 * t + phase)
                                  + rng.gauss(0.0, 0.01)) / ECG_FACTOR_MV) for t, v in zip(times, base, strict=True))
            components.append(Component(ecg_lead_coding(lead),
                                        SampledData(1000 / self.rate_hz, ECG_FACTOR_MV, "mV", counts)))
        start_ns = capture_ns - self.period_ns
        bpm = round(self.rhythm.bpm_at(times[-1]))
        return (Observation(ECG_WAVE, start_ns, components=tuple(components)),
                Observation(HEART_RATE, capture_ns, Quantity(bpm, "/min")))


# SpO2 + pulse ------------------------------------------------------------------------------


class MeanReverting:
    """An Ornstein-Uhlenbeck walk sampled once per step, clipped to a physiological range."""

    def __init__(self, rng: random.Random, mean: float, sigma: float, low: float, high: float,
                 pull: float = 0.1) -> None:
        self.rng, self.mean, self.sigma, self.low, self.high, self.pull = rng, mean, sigma, low, high, pull
        self.value = mean

    def step(self) -> float:
        self.value += self.pull * (self.mean - self.value) + self.rng.gauss(0.0, self.sigma)
        self.value = min(self.high, max(self.low, self.value))
        return self.value


class Spo2Synth:
    kind = "spo2"

    def __init__(self, pleth_hz: int | None = None, mean_spo2: float = 97.5, mean_bpm: float = 72,
                 seed: int = 0) -> None:
        if pleth_hz is not None and not 50 <= pleth_hz <= 500:
            raise ValueError(f"pleth rate: expected 50..500 Hz or none, got {pleth_hz!r}")
        self.period_ns = NS
        self.pleth_hz = pleth_hz
        self.samples_per_frame = pleth_hz or 1
        self.rhythm = HeartRhythm(mean_bpm, seed)
        rng = random.Random(f"spo2:{seed}")
        self.spo2 = MeanReverting(rng, mean_spo2, 0.4, 85.0, 100.0)
        self.pulse = MeanReverting(rng, mean_bpm, 1.0, 35.0, 200.0)

    def pleth(self, t: float) -> float:
        """Normalised pleth (0..~1): a systolic Gaussian and a smaller dicrotic one per beat."""
        self.rhythm.extend_to(t + 1.0)
        value = 0.0
        for peak, rr in self.rhythm.around(t, 1.2):
            systolic, dicrotic = peak + 0.2 * rr / 0.8, peak + 0.45 * rr / 0.8
            value += math.exp(-((t - systolic) ** 2) / (2 * 0.06**2))
            value += 0.35 * math.exp(-((t - dicrotic) ** 2) / (2 * 0.08**2))
        return value

    def frame(self, k: int, capture_ns: int) -> tuple[Observation, ...]:
        spo2 = round(self.spo2.step())
        pulse = round(self.pulse.step())
        out = [Observation(SPO2, capture_ns, Quantity(spo2, "%")),
               Observation(HEART_RATE, capture_ns, Quantity(pulse, "/min"))]
        if self.pleth_hz:
            first = k * self.pleth_hz
            counts = tuple(round(1000 * self.pleth((first + i) / self.pleth_hz)) for i in range(self.pleth_hz))
            out.append(Observation(PLETH, capture_ns - self.period_ns,
                                   SampledData(1000 / self.pleth_hz, 0.001, "1", counts)))
        return tuple(out)


# NIBP --------------------------------------------------------------------------------------


class NibpSynth:
    kind = "nibp"
    samples_per_frame = 1

    def __init__(self, interval_s: float = 300, mean_systolic: float = 122, mean_diastolic: float = 78,
                 seed: int = 0) -> None:
        self.period_ns = _period_ns(interval_s, "NIBP interval")
        rng = random.Random(f"nibp:{seed}")
        self.systolic = MeanReverting(rng, mean_systolic, 5.0, 70.0, 220.0, pull=0.3)
        self.diastolic = MeanReverting(rng, mean_diastolic, 3.5, 40.0, 130.0, pull=0.3)

    def frame(self, k: int, capture_ns: int) -> tuple[Observation, ...]:
        systolic = round(self.systolic.step())
        diastolic = min(round(self.diastolic.step()), systolic - 20)  # pulse pressure stays >= 20 mmHg
        mean = round(diastolic + (systolic - diastolic) / 3)
        return (Observation(BP_PANEL, capture_ns, components=(
            Component(BP_SYSTOLIC, Quantity(systolic, "mm[Hg]")),
            Component(BP_DIASTOLIC, Quantity(diastolic, "mm[Hg]")),
            Component(BP_MEAN, Quantity(mean, "mm[Hg]")))),)


# Infusion pump -----------------------------------------------------------------------------

PUMP_EVENTS = ("start", "rate-change", "occlusion-alarm", "restart")


def pump_event_coding(event: str) -> tuple[Coding, ...]:
    return (Coding(PUMP_EVENT_SYSTEM, event, f"infusion pump {event.replace('-', ' ')}"),)


class InfusionSynth:
    """Status each period; the first frame starts the infusion, then rare rate changes and occlusions."""

    kind = "infusion"
    samples_per_frame = 1

    def __init__(self, status_s: float = 10, rate_ml_h: float = 50, change_p: float = 0.05,
                 occlusion_p: float = 0.01, seed: int = 0) -> None:
        self.period_ns = _period_ns(status_s, "pump status period")
        self.rng = random.Random(f"pump:{seed}")
        self.rate, self.change_p, self.occlusion_p = rate_ml_h, change_p, occlusion_p
        self.running, self.occluded_for = False, 0

    def events(self) -> list[str]:
        if not self.running:
            self.running = True
            return ["start"]
        if self.occluded_for:
            self.occluded_for -= 1
            return [] if self.occluded_for else ["restart"]
        draw = self.rng.random()
        if draw < self.occlusion_p:
            self.occluded_for = self.rng.randint(2, 6)
            return ["occlusion-alarm"]
        if draw < self.occlusion_p + self.change_p:
            self.rate = round(min(999.0, max(1.0, self.rate * self.rng.uniform(0.5, 1.5))), 1)
            return ["rate-change"]
        return []

    def frame(self, k: int, capture_ns: int) -> tuple[Observation, ...]:
        events = self.events()
        rate = 0.0 if self.occluded_for else self.rate
        out = [Observation(pump_event_coding(event), capture_ns, event) for event in events]
        out.append(Observation(PUMP_RATE, capture_ns, Quantity(rate, "mL/h")))
        return tuple(out)
