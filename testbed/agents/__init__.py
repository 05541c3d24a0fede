"""Device software on a rig, driven from the controller: start, stop, collect, figure.

One entry point for tests: :class:`Deployment` (deployment.py), or :class:`Consortium`
(consortium.py) for several hospitals whose edges witness each other's logs. The rest is their
parts: the ledger (ledger.py), the sensor agents (sensors.py), their stats and per-device
figures (stats.py), link outages (links.py), the chain-integrity checks (integrity.py) and the
ledger's goodput apart from its throughput (rates.py).
"""

from __future__ import annotations

from .consortium import Consortium
from .deployment import Deployment
from .errors import AgentError
from .integrity import CheckpointSampler, LogUnderTest, Verdict, log_of
from .ledger import LedgerEntry
from .links import link_down, link_up
from .stats import AckSample, AgentStats, DeviceFigures, Latency, figures, read_stats

__all__ = ["AckSample", "AgentError", "AgentStats", "CheckpointSampler", "Consortium", "Deployment", "DeviceFigures",
           "Latency", "LedgerEntry", "LogUnderTest", "Verdict", "figures", "link_down", "link_up", "log_of",
           "read_stats"]
