"""``python -m devices.sensor``: run a medical-device stand-in, or make its keys.

    python -m devices.sensor keygen --device monitor-1 --signing-key monitor-1.key --payload-key monitor-1.aes
    python -m devices.sensor run --config sensor.json

``keygen`` creates both key files (mode 0600, never overwriting) and prints the enrolment line
``{"device_id": ..., "public_key": base64}`` for the ledger's devices file. ``run`` prints
``running <device> frame <k> seq <n> pending <p>`` on stderr once the queue is open; SIGTERM or
SIGINT stops the capture, gives the uploader ``drain_s`` to empty the queue, and exits. Exit status: 0 all sent,
1 bad config, 2 the ledger refused a record, 3 records still queued (they go next run).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import sys
from pathlib import Path

from devices.wire import PrivateKey
from devices.wire.envelope import is_device_id

from .agent import Agent
from .config import load_config
from .errors import SensorError


def keygen(device: str, signing: Path, payload: Path) -> int:
    if not is_device_id(device):
        print(f"error: --device: expected an envelope device id, got {device!r}", file=sys.stderr)
        return 1
    seed = secrets.token_bytes(32)
    for path, raw in ((signing, seed), (payload, secrets.token_bytes(32))):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(raw).decode() + "\n")
    public = base64.b64encode(PrivateKey(seed).public_key.raw).decode()
    print(json.dumps({"device_id": device, "public_key": public}))
    return 0


def run(config_path: Path) -> int:
    agent = Agent(load_config(config_path))

    def stop(signum: int, _frame: object) -> None:
        agent.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    outcome = agent.run()
    if outcome.refused:
        print(f"error: {outcome.refused}", file=sys.stderr)
        return 2
    return 3 if outcome.pending else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.sensor", description="Medical-device stand-in agent.")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("keygen", help="create the device's Ed25519 and AES-256-GCM keys")
    make.add_argument("--device", required=True)
    make.add_argument("--signing-key", type=Path, required=True)
    make.add_argument("--payload-key", type=Path, required=True)
    go = commands.add_parser("run", help="capture, queue and upload records")
    go.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            return keygen(args.device, args.signing_key, args.payload_key)
        return run(args.config)
    except (SensorError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
