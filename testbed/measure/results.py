"""The results directory: ``results.json`` plus one series file per distribution with samples.

Format ``testbed-results/1`` (``testbed report`` reads it; its README documents the fields).
Why rewrite the whole file after every test: a session killed halfway still leaves a valid
results file with every test that finished; the file is replaced atomically (write, fsync,
rename), so a reader never sees half of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..topology import Topology
from ..topology.graph import to_dot
from .measurement import Measurement

FORMAT = "testbed-results/1"
RESULTS_FILE = "results.json"
SERIES_DIR = "series"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@dataclass
class ResultEntry:
    nodeid: str
    outcome: str  # passed | failed | skipped | error
    duration_s: float
    topology: str | None = None
    profile: str | None = None
    message: str | None = None
    measurements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def marginal(self) -> bool:
        return any(m["outcome"] == "marginal" for m in self.measurements)

    def as_dict(self) -> dict[str, Any]:
        return {"nodeid": self.nodeid, "outcome": self.outcome, "marginal": self.marginal,
                "duration_s": round(self.duration_s, 6), "topology": self.topology, "profile": self.profile,
                "message": self.message, "measurements": self.measurements}


class ResultsWriter:
    """Accumulates a session's results in ``directory`` (created; an existing results file is replaced)."""

    def __init__(self, directory: Path, command: str) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / SERIES_DIR).mkdir(exist_ok=True)
        self.started = utc_now()
        self.command = command
        self.topologies: dict[str, dict[str, Any]] = {}
        self.tests: list[ResultEntry] = []
        self._series = 0
        self.flush()

    @property
    def path(self) -> Path:
        return self.directory / RESULTS_FILE

    def add_topology(self, topo: Topology, path: Path, rig: str) -> None:
        """What results.json says of a topology a test ran on (the report draws its graph)."""
        self.topologies[topo.name] = {
            "path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "nodes": len(topo.nodes),
            "links": len(topo.links), "dot": to_dot(topo), "rig": rig}

    def measurement_entry(self, m: Measurement) -> dict[str, Any]:
        """The JSON of ``m``; its samples, if any, go to a series file now."""
        entry = m.as_dict()
        entry["series"] = None
        dist = m.distribution
        if dist is not None and dist.values:
            self._series += 1
            relative = f"{SERIES_DIR}/{self._series:04d}.json"
            t0 = dist.times[0] if dist.times else 0.0
            times = [round(t - t0, 6) for t in dist.times] if len(dist.times) == len(dist.values) else None
            write_atomically(self.directory / relative, json.dumps(
                {"name": m.name, "unit": m.unit, "t_s": times, "values": dist.values}, separators=(",", ":")))
            entry["series"] = relative
        return entry

    def add(self, result: ResultEntry) -> None:
        self.tests.append(result)
        self.flush()

    def flush(self, finished: bool = False) -> None:
        doc = {
            "format": FORMAT, "started_utc": self.started, "finished_utc": utc_now() if finished else None,
            "host": {"kernel": platform.release(), "in_vm": bool(os.environ.get("TESTBED_IN_VM")),
                     "python": platform.python_version()},
            "command": self.command, "topologies": self.topologies, "tests": [t.as_dict() for t in self.tests],
        }
        write_atomically(self.path, json.dumps(doc, indent=1))
