"""Deploy the device software on a rig: a ledger on the edge, an agent on each sensor node.

    with Deployment(rig, {"ecg1": "ecg", "spo2": "spo2"}) as d:
        time.sleep(5)
        d.stop_agents()                    # SIGTERM; each drains its queue and must exit 0
        entries = d.ledger_entries()       # what the ledger holds, read over HTTP
    d.figures()["ecg1"].latency.p50_ms     # per-device figures from the agents' stats

Leaving the ``with`` stops whatever still runs: the agents, then the ledger.
Files live in ``$TESTBED_RUN_DIR/rigs/<rig>/agents/<node>/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends import state
from ..backends.emulated import EmulatedRig
from .errors import AgentError
from .ledger import Ledger, LedgerEntry, start_ledger
from .lifecycle import Lifecycle
from .process import Target
from .sensors import SIGNALS, Sensor, SensorSpec, prepare_sensor, start_sensor, stop_sensor
from .stats import DeviceFigures, figures, read_stats


def agents_dir(rig: str) -> Path:
    return state.rig_dir(rig) / "agents"


@dataclass
class Deployment(Lifecycle):
    """A ledger on ``edge`` and one agent per entry of ``kinds`` (node -> device kind).

    ``signals`` overrides a kind's synthesiser parameters (default: modest rates, sensors.SIGNALS).
    ``edge_address`` defaults to the edge node's first address (its uplink in the shipped topologies).
    ``ledger_args`` are extra ``serve`` arguments (consortium.py passes the witness flags).
    """

    rig: EmulatedRig
    kinds: Mapping[str, str]
    edge: str = "edge"
    signals: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    edge_address: str | None = None
    ledger_args: Sequence[str] = ()
    ledger: Ledger | None = field(default=None, init=False)
    sensors: dict[str, Sensor] = field(default_factory=dict, init=False)
    _running: dict[str, Target] = field(default_factory=dict, init=False)

    def start(self) -> Deployment:
        """Keys for every device, then the ledger enrolling them, then the agents (each once its queue is open)."""
        home = agents_dir(self.rig.name)
        for i, (node, kind) in enumerate(self.kinds.items()):
            if kind not in SIGNALS:
                raise AgentError(f"node {node}: expected a device kind among {sorted(SIGNALS)}, got {kind!r}")
            spec = SensorSpec(node, kind, self.signals.get(kind, SIGNALS[kind]), seed=i + 1)
            self.sensors[node] = prepare_sensor(self.rig, spec, home / node)
        address = self.edge_address or self.rig.node(self.edge)["addresses"][0].split("/")[0]
        enrolled = {node: s.public_key for node, s in self.sensors.items()}
        self.ledger = start_ledger(self.rig, self.edge, address, enrolled, home / self.edge, self.ledger_args)
        for node, sensor in self.sensors.items():
            self._running[node] = start_sensor(self.rig, sensor, self.ledger.url)
        return self

    def stop_agents(self) -> None:
        """SIGTERM every agent (each drains its queue); raise the first failure once all stopped.
        The ledger keeps serving, so :meth:`ledger_entries` can be read afterwards."""
        failures: list[str] = []
        for node in list(self._running):
            try:
                stop_sensor(self._running.pop(node))
            except AgentError as exc:
                failures.append(str(exc))
        if failures:
            raise AgentError("; ".join(failures))

    def stop(self) -> None:
        """Stop the agents, then the ledger (SIGTERM: queued appends are committed first)."""
        try:
            self.stop_agents()
        finally:
            if self.ledger is not None and self.ledger.target.process.poll() is None:
                code = self.ledger.stop()
                if code != 0:
                    raise AgentError(f"{self.edge}: expected the ledger to exit 0 on SIGTERM, got {code}: "
                                     f"{self.ledger.target.tail()}")

    # --- results ----------------------------------------------------------------------------

    def figures(self) -> dict[str, DeviceFigures]:
        """Per-device figures from each agent's stats (read now; complete once stopped)."""
        return {node: figures(read_stats(s.stats)) for node, s in self.sensors.items()}

    def ledger_entries(self) -> list[LedgerEntry]:
        """What the ledger holds, over HTTP from inside the edge node (the ledger must be running)."""
        if self.ledger is None or self.ledger.target.process.poll() is not None:
            raise AgentError("expected a running ledger (read entries before leaving the `with`), got none")
        return self.ledger.entries()
