"""``python -m devices.edge.ledger``: run the ledger node, make its signing key, audit its data.

    python -m devices.edge.ledger keygen --name ledger.edge-1.example/log --out node.key [--witness]
    python -m devices.edge.ledger serve --listen 127.0.0.1:8470 --data /var/lib/ledger \\
        --key node.key --devices devices.json [--admin-key admin.vkey] \
        [--witness-config peers.json --witness-key witness.key] [--witnesses witnesses.json]
    python -m devices.edge.ledger verify /var/lib/ledger --devices devices.json [--key node.vkey]

``keygen`` writes the C2SP signer key (mode 0600) and prints the verifier key that clients and
witnesses configure; with ``--witness`` it prints the key's cosignature/v1 vkey (type 0x04)
instead, the line a log lists for this node as its witness. ``serve`` prints
``listening on http://HOST:PORT`` once it accepts connections (port 0 picks a free one), and stops cleanly on
SIGTERM or SIGINT: queued appends are committed before the process exits. It writes the node's
verifier key to ``DATA/node.vkey`` (and refuses a data directory whose ``node.vkey`` names
another key), which is where ``verify`` finds the block key unless ``--key`` gives a vkey file.
With ``--witness-config`` (``{"logs": [{"origin", "vkey"}]}``) and ``--witness-key`` (a keygen
file; a key of its own, so the node's log key never cosigns) the node also witnesses those peer
logs at ``POST /add-checkpoint``, keeping its state in ``DATA/witness.db`` (witness.py). With
``--witnesses`` (``{"witnesses": [{"name", "vkey", "url"}], "quorum": k}``) it submits its own
checkpoints to those witnesses and serves the newest one a quorum cosigned at
``GET /v1/checkpoint/cosigned`` (submitter.py; ``--witness-interval`` seconds between rounds). With
``--admin-key`` (a keygen vkey line) the admin API enrols and revokes devices (admin.py); the
changes persist in ``DATA/enrolment.db`` on top of the ``--devices`` file (registry.py), and
``verify`` reads the same file, so a revoked device's older records still verify. ``verify``
exits 0 printing counts, or 1 naming the first bad item (verify.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from devices.wire import Ed25519Signer, Ed25519Verifier
from devices.wire.cosignature import CosignatureSigner, CosignatureVerifier
from devices.wire.errors import NoteFormatError

from .enrolment import load_enrolment
from .errors import LedgerError
from .node import LedgerNode
from .payloads import PayloadStore
from .registry import Registry, load_state
from .service import LedgerServer
from .store import LedgerStore
from .submitter import DEFAULT_INTERVAL, Submitter, load_witnesses
from .verify import AuditFailure, audit
from .witness import Witness, load_witness_config

DB_NAME = "ledger.db"
PAYLOADS_DIR = "payloads"
VKEY_NAME = "node.vkey"
WITNESS_DB_NAME = "witness.db"
ENROLMENT_DB_NAME = "enrolment.db"


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:8470, got {value!r}")
    return host.strip("[]"), int(port)


def keygen(name: str, out: Path, witness: bool = False) -> int:
    signer = Ed25519Signer.generate(name)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signer.skey() + "\n")
    print(CosignatureVerifier(name, signer.private_key.public_key).vkey() if witness else signer.verifier.vkey())
    return 0


def serve(listen: tuple[str, int], data: Path, key: Path, devices: Path | None,
          witness_config: Path | None = None, witness_key: Path | None = None, admin_key: Path | None = None,
          witnesses: Path | None = None, witness_interval: float = DEFAULT_INTERVAL) -> int:
    signer = Ed25519Signer.from_skey(key.read_text().strip())
    enrolled = load_enrolment(devices) if devices else {}
    if (witness_config is None) != (witness_key is None):
        raise LedgerError("--witness-config and --witness-key: expected both or neither")
    admin = Ed25519Verifier.from_vkey(admin_key.read_text().strip()).public_key if admin_key else None
    policy = load_witnesses(witnesses) if witnesses is not None else None
    if not witness_interval > 0:
        raise LedgerError(f"--witness-interval: expected seconds above 0, got {witness_interval}")
    _write_vkey(data, signer)
    registry = Registry(data / ENROLMENT_DB_NAME, enrolled)
    witness = None
    if witness_config is not None and witness_key is not None:
        cosigner = Ed25519Signer.from_skey(witness_key.read_text().strip())
        witness = Witness(data / WITNESS_DB_NAME, CosignatureSigner(cosigner.name, cosigner.private_key),
                          load_witness_config(witness_config))
    store = LedgerStore(data / DB_NAME, signer.private_key)
    node = LedgerNode(store, signer, enrolled, registry=registry)
    submitter = None
    if policy is not None:
        submitter = Submitter(node.checkpoint, store.consistency_proof, signer.verifier, policy, data,
                              interval=witness_interval)
    server = LedgerServer(listen, node, PayloadStore(data / PAYLOADS_DIR), witness, admin, submitter)

    def stop(signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
    print(f"listening on http://{host}:{server.server_port} origin {signer.name} size {store.size} "
          f"devices {len(registry.snapshot().active)} witnessing {len(witness.logs) if witness else 0} "
          f"witnessed by {len(policy.peers) if policy else 0}", flush=True)
    try:
        if submitter is not None:
            submitter.start()
        server.serve_forever()
    finally:
        if submitter is not None:
            submitter.close()
        server.server_close()
        store.close()
        registry.close()
        if witness is not None:
            witness.close()
    return 0


def _write_vkey(data: Path, signer: Ed25519Signer) -> None:
    data.mkdir(parents=True, exist_ok=True)
    path, vkey = data / VKEY_NAME, signer.verifier.vkey()
    if path.exists():
        found = path.read_text().strip()
        if found != vkey:
            raise LedgerError(f"{path}: expected this node's key {vkey}, the data directory belongs to {found}")
        return
    path.write_text(vkey + "\n")


def verify(data: Path, key: Path | None, devices: Path) -> int:
    vkey_file = key or data / VKEY_NAME
    verifier = Ed25519Verifier.from_vkey(vkey_file.read_text().strip())
    try:
        state = load_state(data / ENROLMENT_DB_NAME, load_enrolment(devices))
        report = audit(data / DB_NAME, verifier.public_key, state.active, data / PAYLOADS_DIR, state.revoked)
    except AuditFailure as exc:
        print(f"FAIL {data}: {exc}")
        return 1
    print(f"ok {data}: {report.entries} entries, {report.hashes} hashes, {report.blocks} blocks, "
          f"{report.devices} devices, {report.payloads} payloads; signed by {verifier.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.edge.ledger", description="The edge ledger node.")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("keygen", help="create the node's Ed25519 checkpoint-signing key")
    make.add_argument("--name", required=True, help="key name = the log's origin, e.g. ledger.edge-1.example/log")
    make.add_argument("--out", type=Path, required=True, help="file to create (refuses to overwrite)")
    make.add_argument("--witness", action="store_true", help="print the cosignature/v1 vkey (a witness key)")
    run = commands.add_parser("serve", help="serve the ledger over HTTP")
    run.add_argument("--listen", type=_listen, required=True, metavar="HOST:PORT")
    run.add_argument("--data", type=Path, required=True, help=f"data directory ({DB_NAME} lives here)")
    run.add_argument("--key", type=Path, required=True, help="signer key file written by keygen")
    run.add_argument("--devices", type=Path, help="enrolment file: {\"devices\": {id: base64 public key}}")
    run.add_argument("--witness-config", type=Path, help="peer logs to witness: {\"logs\": [{\"origin\", \"vkey\"}]}")
    run.add_argument("--admin-key", type=Path, help="admin public key (keygen vkey line) for the admin API")
    run.add_argument("--witness-key", type=Path, help="the witness's own keygen file (cosigns as type 0x04)")
    run.add_argument("--witnesses", type=Path,
                     help='submit checkpoints to: {"witnesses": [{"name", "vkey", "url"}], "quorum": k}')
    run.add_argument("--witness-interval", type=float, default=DEFAULT_INTERVAL, metavar="SECONDS",
                     help=f"seconds between submission rounds (default {DEFAULT_INTERVAL})")
    check = commands.add_parser("verify", help="audit a data directory offline; exit 1 on the first bad item")
    check.add_argument("data", type=Path, metavar="DATADIR")
    check.add_argument("--key", type=Path, help=f"verifier key (vkey) file; default DATADIR/{VKEY_NAME}")
    check.add_argument("--devices", type=Path, required=True, help="the enrolment file the node serves with")
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            return keygen(args.name, args.out, args.witness)
        if args.command == "verify":
            return verify(args.data, args.key, args.devices)
        return serve(args.listen, args.data, args.key, args.devices, args.witness_config, args.witness_key,
                     args.admin_key, args.witnesses, args.witness_interval)
    except (LedgerError, NoteFormatError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
