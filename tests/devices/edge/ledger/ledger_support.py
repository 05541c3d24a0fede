"""Start a real ledger node on loopback for the HTTP-level suites: ``serve`` on port 0, with the
key and enrolment file the test wrote into ``tmp``, ready once it printed where it listens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]


def serve_on_loopback(tmp: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """``python -m devices.edge.ledger serve`` over ``tmp``/data, node.key, devices.json (plus
    ``extra`` arguments); returns the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devices.edge.ledger", "serve", "--listen", "127.0.0.1:0", "--data", str(tmp / "data"),
         "--key", str(tmp / "node.key"), "--devices", str(tmp / "devices.json"), *extra],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return process, line.split()[2]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])
