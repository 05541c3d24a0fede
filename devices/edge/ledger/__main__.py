"""``python -m devices.edge.ledger``: run the ledger node, or make its signing key.

    python -m devices.edge.ledger keygen --name ledger.edge-1.example/log --out node.key
    python -m devices.edge.ledger serve --listen 127.0.0.1:8470 --data /var/lib/ledger \\
        --key node.key --devices devices.json

``keygen`` writes the C2SP signer key (mode 0600) and prints the verifier key that clients
and witnesses configure. ``serve`` prints ``listening on http://HOST:PORT`` once it accepts
connections (port 0 picks a free one), and stops cleanly on SIGTERM or SIGINT: queued
appends are committed before the process exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from devices.wire import Ed25519Signer
from devices.wire.errors import NoteFormatError

from .enrolment import load_enrolment
from .errors import LedgerError
from .node import LedgerNode
from .service import LedgerServer
from .store import LedgerStore

DB_NAME = "ledger.db"


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:8470, got {value!r}")
    return host.strip("[]"), int(port)


def keygen(name: str, out: Path) -> int:
    signer = Ed25519Signer.generate(name)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signer.skey() + "\n")
    print(signer.verifier.vkey())
    return 0


def serve(listen: tuple[str, int], data: Path, key: Path, devices: Path | None) -> int:
    signer = Ed25519Signer.from_skey(key.read_text().strip())
    enrolled = load_enrolment(devices) if devices else {}
    store = LedgerStore(data / DB_NAME)
    server = LedgerServer(listen, LedgerNode(store, signer, enrolled))

    def stop(signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
    print(f"listening on http://{host}:{server.server_port} origin {signer.name} size {store.size} "
          f"devices {len(enrolled)}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.edge.ledger", description="The edge ledger node.")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("keygen", help="create the node's Ed25519 checkpoint-signing key")
    make.add_argument("--name", required=True, help="key name = the log's origin, e.g. ledger.edge-1.example/log")
    make.add_argument("--out", type=Path, required=True, help="file to create (refuses to overwrite)")
    run = commands.add_parser("serve", help="serve the ledger over HTTP")
    run.add_argument("--listen", type=_listen, required=True, metavar="HOST:PORT")
    run.add_argument("--data", type=Path, required=True, help=f"data directory ({DB_NAME} lives here)")
    run.add_argument("--key", type=Path, required=True, help="signer key file written by keygen")
    run.add_argument("--devices", type=Path, help="enrolment file: {\"devices\": {id: base64 public key}}")
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            return keygen(args.name, args.out)
        return serve(args.listen, args.data, args.key, args.devices)
    except (LedgerError, NoteFormatError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
