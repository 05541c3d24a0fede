"""Device software on a rig, driven from the controller: start, stop, collect, figure.

One entry point for tests: :class:`Deployment` (deployment.py). The rest is its parts:
the ledger (ledger.py), the sensor agents (sensors.py), their stats and per-device figures
(stats.py), and link outages (links.py).
"""

from __future__ import annotations

from .deployment import Deployment
from .errors import AgentError
from .ledger import LedgerEntry
from .links import link_down, link_up
from .stats import AckSample, AgentStats, DeviceFigures, Latency, figures, read_stats

__all__ = ["AckSample", "AgentError", "AgentStats", "Deployment", "DeviceFigures", "Latency", "LedgerEntry",
           "figures", "link_down", "link_up", "read_stats"]
