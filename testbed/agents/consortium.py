"""A consortium of hospitals: one :class:`Deployment` per edge, each edge witnessing every other's log.

Why: a single hospital's ledger can show a forked history to an auditor unnoticed; when the
other hospitals' edges witness it (C2SP tlog-witness) and a reader demands k of their
cosignatures, forking means fooling k hospitals (ledger.md §3.3). Keys are made on the edges
first (a log key and a separate witness key each), then every edge starts with
``--witness-config`` (the other logs it cosigns), ``--witness-key`` and ``--witnesses`` (the
other edges' witness keys and URLs, ``quorum`` of them required; default N-1, all peers)::

    hospitals = {"h1-edge": {"h1-ecg": "ecg", "h1-spo2": "spo2"}, "h2-edge": {...}, "h3-edge": {...}}
    with Consortium(rig, hospitals) as c:
        time.sleep(5)
        c.stop_agents()
        c.wait_witnessed()                     # every final checkpoint cosigned by a quorum
        for edge, log in c.logs.items():       # integrity.LogUnderTest, witness policy included
            print(integrity.cosigned_quorum(log))

Files per edge in ``$TESTBED_RUN_DIR/rigs/<rig>/agents/<edge>/``: ``node.key`` and
``witness.key`` (with their public lines in ``node.vkey.txt`` and ``witness.vkey.txt``),
``peers.json``, ``witnesses.json``, and the ledger's own files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.wire import Ed25519Verifier
from devices.wire.cosignature import CosignatureVerifier

from ..backends.emulated import EmulatedRig
from . import process
from .deployment import Deployment, agents_dir
from .errors import AgentError
from .integrity import LogUnderTest, http_get, stats_of
from .ledger import PORT
from .lifecycle import Lifecycle
from .process import PYTHON
from .stats import AgentStats, DeviceFigures

LOG_NAME = "ledger.{edge}.{rig}.testbed/log"
WITNESS_NAME = "witness.{edge}.{rig}.testbed"


@dataclass(frozen=True)
class _Keys:
    log: Ed25519Verifier
    witness: CosignatureVerifier
    url: str


def _keygen(rig: EmulatedRig, node: str, name: str, key: Path, witness: bool) -> str:
    """Make a key on the node once; its public line is kept beside it for later runs."""
    public = key.with_name(key.name.replace(".key", ".vkey.txt"))
    if not key.exists():
        out = process.run(rig, node, [PYTHON, "-m", "devices.edge.ledger", "keygen", "--name", name, "--out", str(key),
                                      *(["--witness"] if witness else [])], f"keygen {key.name}")
        public.write_text(out.strip() + "\n", encoding="ascii")
    return public.read_text(encoding="ascii").strip()


@dataclass
class Consortium(Lifecycle):
    """One ledger per edge of ``hospitals`` (edge node -> {sensor node: kind}), witnessing one another."""

    rig: EmulatedRig
    hospitals: Mapping[str, Mapping[str, str]]
    quorum: int | None = None
    signals: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    interval: float = 0.5  # seconds between a log's submission rounds
    deployments: dict[str, Deployment] = field(default_factory=dict, init=False)
    logs: dict[str, LogUnderTest] = field(default_factory=dict, init=False)

    def start(self) -> Consortium:
        """Keys on every edge, then each hospital's ledger (witness flags set) and its agents."""
        edges = list(self.hospitals)
        quorum = len(edges) - 1 if self.quorum is None else self.quorum
        if len(edges) < 2 or not 1 <= quorum <= len(edges) - 1:
            raise AgentError(f"consortium: expected at least 2 hospitals and a quorum in 1..{len(edges) - 1}, "
                             f"got {len(edges)} hospitals and quorum {quorum}")
        keys = {edge: self._keys(edge) for edge in edges}
        for edge in edges:
            home = agents_dir(self.rig.name) / edge
            peers = [keys[p] for p in edges if p != edge]
            (home / "peers.json").write_text(json.dumps(
                {"logs": [{"origin": k.log.name, "vkey": k.log.vkey()} for k in peers]}, indent=1), encoding="utf-8")
            (home / "witnesses.json").write_text(json.dumps({"quorum": quorum, "witnesses": [
                {"name": k.witness.name, "vkey": k.witness.vkey(), "url": k.url} for k in peers]}, indent=1),
                encoding="utf-8")
            args = ["--witness-config", str(home / "peers.json"), "--witness-key", str(home / "witness.key"),
                    "--witnesses", str(home / "witnesses.json"), "--witness-interval", str(self.interval)]
            deployment = Deployment(self.rig, self.hospitals[edge], edge=edge, signals=self.signals,
                                    ledger_args=args)
            self.deployments[edge] = deployment
            deployment.start()
            assert deployment.ledger is not None
            self.logs[edge] = LogUnderTest(deployment.ledger, keys[edge].log, home,
                                           tuple(k.witness for k in peers), quorum)
        return self

    def _keys(self, edge: str) -> _Keys:
        home = agents_dir(self.rig.name) / edge
        home.mkdir(parents=True, exist_ok=True)
        names = {"edge": edge, "rig": self.rig.name}
        log = _keygen(self.rig, edge, LOG_NAME.format(**names), home / "node.key", witness=False)
        witness = _keygen(self.rig, edge, WITNESS_NAME.format(**names), home / "witness.key", witness=True)
        address = self.rig.node(edge)["addresses"][0].split("/")[0]
        return _Keys(Ed25519Verifier.from_vkey(log), CosignatureVerifier.from_vkey(witness), f"http://{address}:{PORT}")

    def stop_agents(self) -> None:
        """SIGTERM every hospital's agents; the ledgers keep serving and witnessing."""
        self._each(lambda d: d.stop_agents())

    def stop(self) -> None:
        """Every hospital's agents first, then every ledger."""
        try:
            self.stop_agents()
        finally:
            self._each(lambda d: d.stop())

    def _each(self, action: Callable[[Deployment], None]) -> None:
        failures: list[str] = []
        for edge, deployment in self.deployments.items():
            try:
                action(deployment)
            except AgentError as exc:
                failures.append(f"{edge}: {exc}")
        if failures:
            raise AgentError("; ".join(failures))

    # --- results ----------------------------------------------------------------------------

    def stats(self, edge: str) -> dict[str, AgentStats]:
        """The agents' stats of one hospital (device id -> stats), for integrity.acked_on_chain."""
        return stats_of(self.deployments[edge])

    def figures(self) -> dict[str, DeviceFigures]:
        """Per-device figures of every hospital, keyed by sensor node."""
        return {node: f for d in self.deployments.values() for node, f in d.figures().items()}

    def wait_witnessed(self, timeout: float = 30) -> None:
        """Wait until every log's cosigned checkpoint is its current one (call once the agents stopped)."""
        deadline = time.monotonic() + timeout
        behind = dict(self.logs)
        while behind:
            for edge, log in list(behind.items()):
                (_, current), (status, cosigned) = http_get(log, ["/v1/checkpoint", "/v1/checkpoint/cosigned"])
                if status == 200 and cosigned.startswith(current):
                    del behind[edge]
            if behind and time.monotonic() > deadline:
                raise AgentError(f"expected every log's current checkpoint cosigned by a quorum within {timeout} s, "
                                 f"still behind: {sorted(behind)}; see each edge's ledger.log")
            if behind:
                time.sleep(0.3)
