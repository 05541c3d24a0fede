"""Stats as JSON lines: one line per acknowledged record, one summary line when the agent stops.

Times are wall-clock ns since the epoch (comparable with the ledger's and other hosts' clocks
once their offsets are measured); ``late_ns`` is monotonic (how late the frame fired).
Lines are flushed as written so a killed agent leaves every line it finished.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import TextIO


class StatsWriter:
    def __init__(self, path: Path | None) -> None:
        self._out: TextIO = sys.stdout if path is None else open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()

    def write(self, event: str, **fields: object) -> None:
        line = json.dumps({"event": event, **fields}, separators=(",", ":"))
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def close(self) -> None:
        if self._out is not sys.stdout:
            self._out.close()
