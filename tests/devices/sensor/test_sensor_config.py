"""The agent's config and key files: every refusal names the file, the field, expected and got."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from devices.sensor.config import load_config, payload_key, signing_key
from devices.sensor.errors import ConfigError
from devices.sensor.signals import EcgSynth

GOOD = {"device_id": "monitor-1", "kind": "ecg", "edge_url": "http://127.0.0.1:8470", "signing_key": "m.key",
        "payload_key": "m.aes", "queue": "q.db", "signal": {"rate_hz": 250, "frame_ms": 40, "leads": ["II"]}}


def write(tmp: Path, **changes: object) -> Path:
    path = tmp / "sensor.json"
    path.write_text(json.dumps({k: v for k, v in {**GOOD, **changes}.items() if v is not None}))
    return path


def test_a_good_config_resolves_paths_and_builds_its_synthesiser(tmp_path: Path) -> None:
    (tmp_path / "m.key").write_text(base64.b64encode(b"\x01" * 32).decode())
    (tmp_path / "m.aes").write_text(base64.b64encode(b"\x02" * 32).decode() + "\n")
    config = load_config(write(tmp_path))
    assert config.queue == tmp_path / "q.db" and config.stats is None and config.frames is None
    synth = config.synthesiser()
    assert isinstance(synth, EcgSynth) and synth.samples_per_frame == 10
    assert signing_key(config).seed == b"\x01" * 32 and payload_key(config) == b"\x02" * 32


@pytest.mark.parametrize(("changes", "message"), [
    ({"kind": "eeg"}, "kind: expected one of ['ecg', 'infusion', 'nibp', 'spo2'], got 'eeg'"),
    ({"device_id": "bad id"}, "device_id: expected an envelope device id, got 'bad id'"),
    ({"edge_url": "https://edge:8470"}, "edge_url: expected http://HOST:PORT, got 'https://edge:8470'"),
    ({"frames": 0}, "frames: expected a positive integer or null, got 0"),
    ({"queue": None}, "missing ['queue']"),
    ({"colour": "red"}, "unknown ['colour']"),
    ({"signal": {"rate_hz": 100}}, "signal: ECG rate: expected 250..1000 Hz, got 100"),
    ({"signal": {"pleth_hz": 125}}, "do not fit kind 'ecg'"),
])
def test_bad_configs_are_refused_with_the_reason(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, **changes))
    assert message in str(refused.value) and str(tmp_path / "sensor.json") in str(refused.value)


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.key").write_text(base64.b64encode(b"\x01" * 16).decode())
    with pytest.raises(ConfigError, match="Ed25519 seed: expected 32 bytes, got 16"):
        signing_key(load_config(write(tmp_path)))
