"""Sensor agents (``python -m devices.sensor``) as target processes, one per sensor node.

Each agent's keys, config, durable queue, stats and log live in
``$TESTBED_RUN_DIR/rigs/<rig>/agents/<node>/``; the device id is the node's name, so the
figures and the ledger's entries are keyed the way the topology names things.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends.emulated import EmulatedRig
from . import process
from .errors import AgentError
from .process import PYTHON, Target

# Modest rates, so that three agents and a ledger fit on two shared cores.
SIGNALS: dict[str, dict[str, Any]] = {
    "ecg": {"rate_hz": 250, "frame_ms": 100, "leads": ["II"]},
    "spo2": {},
    "nibp": {"interval_s": 1},
    "infusion": {"status_s": 1},
}
# Lighter still, for the end-to-end suites and the demo: they run in the netem VM, whose CPU is
# emulated, and measure the network and the ledger, not a saturated host (whole samples per frame).
LIGHT_SIGNALS: dict[str, dict[str, Any]] = {"ecg": {"rate_hz": 250, "frame_ms": 200, "leads": ["II"]}}


@dataclass(frozen=True)
class SensorSpec:
    """What to run on one node: the device kind and its synthesiser parameters."""

    node: str
    kind: str
    signal: dict[str, Any]
    seed: int = 0


@dataclass(frozen=True)
class Sensor:
    spec: SensorSpec
    home: Path
    public_key: str  # base64 Ed25519, for the ledger's enrolment file

    @property
    def stats(self) -> Path:
        return self.home / "stats.jsonl"

    @property
    def config(self) -> Path:
        return self.home / "sensor.json"


def prepare_sensor(rig: EmulatedRig, spec: SensorSpec, home: Path) -> Sensor:
    """Make the device's keys (once; a rerun keeps its identity and queue)."""
    home.mkdir(parents=True, exist_ok=True)
    signing, payload = home / "device.key", home / "device.aes"
    public = home / "device.pub"
    if not public.exists():
        out = process.run(rig, spec.node, [PYTHON, "-m", "devices.sensor", "keygen", "--device", spec.node,
                                           "--signing-key", str(signing), "--payload-key", str(payload)],
                          "sensor keygen")
        public.write_text(json.loads(out)["public_key"] + "\n", encoding="ascii")
    return Sensor(spec, home, public.read_text(encoding="ascii").strip())


def start_sensor(rig: EmulatedRig, sensor: Sensor, edge_url: str, drain_s: float = 10) -> Target:
    """Write the agent's config (run until SIGTERM) and start it; returns once its queue is open."""
    spec = sensor.spec
    sensor.config.write_text(json.dumps({
        "device_id": spec.node, "kind": spec.kind, "edge_url": edge_url, "signing_key": "device.key",
        "payload_key": "device.aes", "queue": "queue.db", "stats": "stats.jsonl", "frames": None,
        "duration_s": None, "seed": spec.seed, "drain_s": drain_s, "signal": spec.signal}, indent=1), encoding="utf-8")
    target = process.start(rig, spec.node, [PYTHON, "-m", "devices.sensor", "run", "--config", str(sensor.config)],
                           sensor.home / "agent.log")
    target.wait_for_line(f"running {spec.node} ")
    return target


def stop_sensor(target: Target) -> None:
    """SIGTERM: the agent stops capturing, drains its queue, exits 0 when everything was acked."""
    code = target.stop()
    if code != 0:
        raise AgentError(f"{target.node}: expected exit 0 after SIGTERM (all records acked), got {code}: "
                         f"{target.tail()}")
