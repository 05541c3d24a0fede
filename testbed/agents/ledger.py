"""The edge ledger as a target process inside the rig's edge node, and its entries over HTTP.

The controller reads the ledger the way it would on hardware: HTTP from a node of the rig
(the controller's own namespace has no route into the rig), decoded with the shared wire
format. Keys and data live under the rig's run directory, so ``down`` leaves nothing behind
that the next rig could pick up.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devices.wire import SignedRecord

from ..backends.emulated import EmulatedRig
from . import process
from .process import PYTHON, Target

PORT = 8470
ORIGIN = "ledger.{rig}.testbed/log"

# Runs inside a node: page through GET /v1/entries (the ledger caps each read) and print them.
_FETCH = """
import json, sys, urllib.request
url = sys.argv[1]
get = lambda path: json.loads(urllib.request.urlopen(url + path, timeout=10).read())
size = get("/v1/health")["tree_size"]
entries = []
while len(entries) < size:
    entries += get(f"/v1/entries?start={len(entries)}&end={min(size, len(entries) + 100)}")["entries"]
print(json.dumps(entries))
"""


@dataclass(frozen=True)
class LedgerEntry:
    index: int
    device_id: str
    seq: int


@dataclass(frozen=True)
class Ledger:
    """A ledger serving on ``url`` from ``node``; :meth:`entries` reads what it holds."""

    rig: EmulatedRig
    node: str
    url: str
    target: Target

    def entries(self, via: str | None = None) -> list[LedgerEntry]:
        """Every entry in log order, fetched over HTTP from node ``via`` (default: the ledger's node)."""
        out = process.run(self.rig, via or self.node, [PYTHON, "-c", _FETCH, self.url], "fetch ledger entries")
        records = [SignedRecord.from_bytes(base64.b64decode(e)) for e in json.loads(out)]
        return [LedgerEntry(i, r.envelope.device_id, r.envelope.seq) for i, r in enumerate(records)]

    def stop(self) -> int:
        return self.target.stop()


def start_ledger(rig: EmulatedRig, node: str, address: str, enrolled: dict[str, str], home: Path,
                 extra: Sequence[str] = ()) -> Ledger:
    """Make the node key, write the enrolment file (device id -> base64 public key), serve on ``address``.

    ``extra`` is appended to the ``serve`` arguments (the consortium's witness flags).
    """
    home.mkdir(parents=True, exist_ok=True)
    key = home / "node.key"
    if not key.exists():
        process.run(rig, node, [PYTHON, "-m", "devices.edge.ledger", "keygen", "--name", ORIGIN.format(rig=rig.name),
                                "--out", str(key)], "ledger keygen")
    devices = home / "devices.json"
    devices.write_text(json.dumps({"devices": enrolled}, indent=1), encoding="utf-8")
    target = process.start(rig, node, [PYTHON, "-m", "devices.edge.ledger", "serve", "--listen", f"{address}:{PORT}",
                                       "--data", str(home / "data"), "--key", str(key), "--devices", str(devices),
                                       *extra],
                           home / "ledger.log")
    line = target.wait_for_line("listening on http://")
    return Ledger(rig, node, line.split()[2], target)
