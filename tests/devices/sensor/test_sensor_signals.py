"""The synthesisers: rates, waveform shape, variability, determinism and the codes on every observation."""

from __future__ import annotations

import statistics

import pytest

from devices.sensor.observations import LOINC, MDC, Component, Observation, SampledData
from devices.sensor.signals import EcgSynth, InfusionSynth, NibpSynth, Spo2Synth

T0 = 1_700_000_000 * 10**9


def codes(observation: Observation | Component) -> set[tuple[str, str]]:
    return {(c.system, c.code) for c in observation.code}


def lead_samples(synth: EcgSynth, frames: int, lead: int = 0) -> list[float]:
    out: list[float] = []
    for k in range(frames):
        wave = synth.frame(k, T0 + (k + 1) * synth.period_ns)[0]
        data = wave.components[lead].value
        assert isinstance(data, SampledData)
        out.extend(count * data.factor for count in data.data)
    return out


def r_peaks(samples: list[float], rate_hz: int, threshold: float) -> list[float]:
    """Times (s) of local maxima above ``threshold``, at least 250 ms apart."""
    peaks: list[float] = []
    for i in range(1, len(samples) - 1):
        if samples[i] > threshold and samples[i] >= samples[i - 1] and samples[i] > samples[i + 1]:
            t = i / rate_hz
            if not peaks or t - peaks[-1] > 0.25:
                peaks.append(t)
    return peaks


def test_ecg_frames_carry_the_rate_leads_and_codes() -> None:
    synth = EcgSynth(rate_hz=500, frame_ms=40, leads=("I", "II", "V1"), seed=3)
    assert (synth.samples_per_frame, synth.period_ns) == (20, 40_000_000)
    wave, heart_rate = synth.frame(0, T0)
    assert codes(wave) == {(MDC, "131328")}
    assert [codes(c) for c in wave.components] == [{(MDC, "131329")}, {(MDC, "131330")}, {(MDC, "131331")}]
    for component in wave.components:
        assert isinstance(component.value, SampledData)
        assert (len(component.value.data), component.value.period_ms) == (20, 2.0)
    assert codes(heart_rate) == {(LOINC, "8867-4")}
    fhir = wave.to_fhir()
    assert fhir["resourceType"] == "Observation" and fhir["code"]["coding"][0]["code"] == "131328"
    assert len(fhir["component"][1]["valueSampledData"]["data"].split()) == 20
    assert wave.effective_ns == T0 - synth.period_ns  # a waveform chunk is effective from its first sample


def test_ecg_shape_rate_and_variability() -> None:
    rate = 500
    synth = EcgSynth(rate_hz=rate, frame_ms=40, leads=("II",), mean_bpm=72, seed=1)
    samples = lead_samples(synth, 60 * 25)  # 60 s
    peaks = r_peaks(samples, rate, threshold=0.6)
    assert 60 <= len(peaks) <= 84, f"expected ~72 beats in 60 s, got {len(peaks)}"
    rr = [b - a for a, b in zip(peaks, peaks[1:], strict=False)]
    assert 0.7 < statistics.mean(rr) < 0.95
    assert statistics.stdev(rr) > 0.01, "heart-rate variability: RR intervals must not be constant"
    assert 0.9 < max(samples) < 1.5, "lead II R wave should be about 1.1 mV"
    assert -0.6 < min(samples) < -0.1, "the S wave dips below the baseline"
    # the QRS is narrow: around an R peak, the signal is above half its height for < 40 ms
    i = round(peaks[10] * rate)
    width = sum(1 for v in samples[i - 30:i + 30] if v > samples[i] / 2) / rate
    assert 0.004 < width < 0.04
    # a T wave: a positive bump 150..400 ms after each R, well below the R
    t_wave = max(samples[i + 75:i + 200])
    assert 0.15 < t_wave < 0.6 * samples[i]


def test_ecg_is_deterministic_and_can_resume_at_any_frame() -> None:
    straight = EcgSynth(leads=("II",), seed=7)
    frames = [straight.frame(k, T0) for k in range(120)]
    resumed = EcgSynth(leads=("II",), seed=7).frame(119, T0)
    assert resumed == frames[119]
    other = EcgSynth(leads=("II",), seed=8).frame(119, T0)
    assert other != frames[119]


def test_ecg_refuses_impossible_settings() -> None:
    with pytest.raises(ValueError, match="expected 250..1000 Hz, got 100"):
        EcgSynth(rate_hz=100)
    with pytest.raises(ValueError, match=r"whole number of samples per frame, got 1.5"):
        EcgSynth(rate_hz=300, frame_ms=5)
    with pytest.raises(ValueError, match="got \\['II', 'V9'\\]"):
        EcgSynth(leads=("II", "V9"))


def test_spo2_numerics_and_pleth() -> None:
    synth = Spo2Synth(pleth_hz=125, seed=2)
    assert synth.period_ns == 10**9
    spo2s, pulses, pleth = [], [], []
    for k in range(120):
        spo2, pulse, wave = synth.frame(k, T0 + k * 10**9)
        assert codes(spo2) == {(LOINC, "2708-6"), (LOINC, "59408-5"), (MDC, "150456")}
        assert codes(pulse) == {(LOINC, "8867-4")}
        assert isinstance(wave.value, SampledData) and len(wave.value.data) == 125
        spo2s.append(spo2.value.value)  # type: ignore[union-attr]
        pulses.append(pulse.value.value)  # type: ignore[union-attr]
        pleth.extend(wave.value.data)
    assert all(isinstance(v, int) and 90 <= v <= 100 for v in spo2s)
    assert len(set(spo2s)) > 1 and len(set(pulses)) > 1, "numerics must vary"
    assert 55 < statistics.mean(pulses) < 90
    beats = r_peaks([v / 1000 for v in pleth], 125, threshold=0.6)
    assert 120 <= len(beats) <= 170, f"expected ~144 pulses in 120 s, got {len(beats)}"
    assert len(Spo2Synth(seed=2).frame(0, T0)) == 2  # without pleth: the two numerics only


def test_nibp_readings_are_plausible_and_coded() -> None:
    synth = NibpSynth(interval_s=300, seed=4)
    assert synth.period_ns == 300 * 10**9
    for k in range(200):
        (panel,) = synth.frame(k, T0)
        assert codes(panel) == {(LOINC, "85354-9")}
        systolic, diastolic, mean = (c.value.value for c in panel.components)  # type: ignore[union-attr]
        assert [codes(c) for c in panel.components][:2] == [{(LOINC, "8480-6")}, {(LOINC, "8462-4")}]
        assert 70 <= systolic <= 220 and systolic - diastolic >= 20 and diastolic < mean < systolic


def test_infusion_pump_events() -> None:
    synth = InfusionSynth(status_s=10, change_p=0.05, occlusion_p=0.02, seed=5)
    seen: list[str] = []
    for k in range(2000):
        observations = synth.frame(k, T0)
        events = [o.value for o in observations[:-1]]
        rate = observations[-1]
        assert codes(rate) == {(MDC, "157784")}
        if k == 0:
            assert events == ["start"]
        if "occlusion-alarm" in events:
            assert rate.value.value == 0.0  # type: ignore[union-attr]
        seen.extend(str(e) for e in events)
    assert {"rate-change", "occlusion-alarm", "restart"} <= set(seen)
    assert seen.count("occlusion-alarm") == seen.count("restart") or seen.count("occlusion-alarm") == \
        seen.count("restart") + 1
