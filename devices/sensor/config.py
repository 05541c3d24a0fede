"""The agent's configuration file (JSON) and key files, checked before anything starts.

Example (paths relative to the config file)::

    {"device_id": "monitor-1", "kind": "ecg", "edge_url": "http://10.0.0.1:8470",
     "signing_key": "monitor-1.key", "payload_key": "monitor-1.aes", "queue": "queue.db",
     "stats": "stats.jsonl", "frames": null, "duration_s": 60, "seed": 1,
     "signal": {"rate_hz": 500, "frame_ms": 40, "leads": ["I", "II", "V1"]}}

``kind`` is ecg, spo2, nibp or infusion; ``signal`` holds that synthesiser's parameters
(signals.py). ``frames`` stops after that many frames of the device's life (a restart counts
from the queue), ``duration_s`` after that long in this run; either may be null (run until
SIGTERM). ``stats`` null writes the JSON lines to stdout. Key files hold standard base64 of
32 bytes: the Ed25519 seed, and the AES-256-GCM payload key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devices.wire import PrivateKey
from devices.wire.envelope import is_device_id

from .errors import ConfigError
from .signals import EcgSynth, InfusionSynth, NibpSynth, Spo2Synth, Synthesiser

SYNTHS: dict[str, type] = {"ecg": EcgSynth, "spo2": Spo2Synth, "nibp": NibpSynth, "infusion": InfusionSynth}
_REQUIRED = {"device_id", "kind", "edge_url", "signing_key", "payload_key", "queue"}
_OPTIONAL = {"stats", "frames", "duration_s", "seed", "signal", "batch", "drain_s"}


@dataclass(frozen=True)
class AgentConfig:
    device_id: str
    kind: str
    edge_url: str
    signing_key: Path
    payload_key: Path
    queue: Path
    stats: Path | None = None
    frames: int | None = None
    duration_s: float | None = None
    seed: int = 0
    signal: dict[str, Any] = field(default_factory=dict)
    batch: int = 100
    drain_s: float = 10.0

    def synthesiser(self) -> Synthesiser:
        params = dict(self.signal)
        if "leads" in params:
            params["leads"] = tuple(params["leads"])
        try:
            return SYNTHS[self.kind](seed=self.seed, **params)
        except TypeError as exc:
            raise ConfigError(f"signal: parameters {sorted(params)} do not fit kind {self.kind!r}: {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"signal: {exc}") from None


def load_config(path: Path) -> AgentConfig:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(document).__name__}")
    missing, unknown = _REQUIRED - set(document), set(document) - _REQUIRED - _OPTIONAL
    if missing or unknown:
        raise ConfigError(f"{path}: expected keys {sorted(_REQUIRED)} (+ optional {sorted(_OPTIONAL)}); "
                          f"missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not is_device_id(document["device_id"]):
        raise ConfigError(f"{path}: device_id: expected an envelope device id, got {document['device_id']!r}")
    edge = urlsplit(str(document["edge_url"]))
    if edge.scheme != "http" or not edge.hostname:
        raise ConfigError(f"{path}: edge_url: expected http://HOST:PORT, got {document['edge_url']!r}")
    if document["kind"] not in SYNTHS:
        raise ConfigError(f"{path}: kind: expected one of {sorted(SYNTHS)}, got {document['kind']!r}")
    for name in ("frames", "batch"):
        value = document.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{path}: {name}: expected a positive integer or null, got {value!r}")
    if not isinstance(document.get("signal", {}), dict):
        raise ConfigError(f"{path}: signal: expected an object, got {document['signal']!r}")
    base = path.parent
    paths = {name: base / document[name] for name in ("signing_key", "payload_key", "queue")}
    stats = document.get("stats")
    config = AgentConfig(document["device_id"], document["kind"], str(document["edge_url"]),
                         stats=None if stats is None else base / stats,
                         **paths, **{k: document[k] for k in ("frames", "duration_s", "seed", "signal", "batch",
                                                              "drain_s") if document.get(k) is not None})
    try:
        config.synthesiser()  # refuse bad signal parameters now, not after the queue is open
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return config


def read_key(path: Path, what: str) -> bytes:
    try:
        raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except (OSError, ValueError, binascii.Error) as exc:
        raise ConfigError(f"{path}: {what}: cannot read a base64 key: {exc}") from None
    if len(raw) != 32:
        raise ConfigError(f"{path}: {what}: expected 32 bytes, got {len(raw)}")
    return raw


def signing_key(config: AgentConfig) -> PrivateKey:
    return PrivateKey(read_key(config.signing_key, "Ed25519 seed"))


def payload_key(config: AgentConfig) -> bytes:
    return read_key(config.payload_key, "AES-256-GCM payload key")
