"""``python -m devices.edge.offload serve --listen HOST:PORT --workers N --queue Q``: the MEC worker.

Prints ``listening on http://HOST:PORT workers N queue Q`` once it accepts connections (port 0
picks a free one) and stops cleanly on SIGTERM or SIGINT. ``--workers`` worker processes run
tasks in parallel; ``--queue`` tasks may wait for one, and any more are refused with 503.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .service import OffloadServer, WorkerPool


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:8480, got {value!r}")
    return host.strip("[]"), int(port)


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value!r}")
    return int(value)


def serve(listen: tuple[str, int], workers: int, queue_limit: int) -> int:
    pool = WorkerPool(workers, queue_limit)
    server = OffloadServer(listen, pool)

    def stop(signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
    print(f"listening on http://{host}:{server.server_port} workers {workers} queue {queue_limit}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        pool.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.edge.offload", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the worker service")
    run.add_argument("--listen", type=_listen, required=True, help="HOST:PORT (port 0: any free port)")
    run.add_argument("--workers", type=_count, default=os.cpu_count() or 1, help="worker processes")
    run.add_argument("--queue", type=_count, default=16, help="tasks that may wait; more are refused (503)")
    args = parser.parse_args(argv)
    try:
        return serve(args.listen, args.workers, args.queue)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
