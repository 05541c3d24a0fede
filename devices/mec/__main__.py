"""``python -m devices.mec``: the device-side MEC client (estimate, decide, offload or run locally).

  probe  measure what the offload decision needs, from this device, and print it as JSON:
         RTT, uplink and downlink rates, the edge's workers and queue, and the task's speed
         here and on the edge (work units per second, see devices/mec/workload.py).

  run    run COUNT tasks of one kind and size (or as many as arrive in --duration seconds),
         each locally or on the edge: --mode auto decides per task with the reference model
         (offload iff predicted T_off < T_loc), --mode local / edge forces it. Each task's
         record (JSON lines in --out) holds the measured terms (upload, queue, compute,
         download, total; local time with --measure-both) and both predictions. A JSON
         summary (per-term n/mean/p50/p95) is printed at the end, also after SIGTERM.

Examples:

  python -m devices.mec probe --edge http://10.0.0.2:8480 --task ecg_analyse --size 30
  python -m devices.mec run --edge http://10.0.0.2:8480 --task ecg_analyse --size 30 \\
      --count 50 --mode auto --measure-both --out results.jsonl
  python -m devices.mec run --edge http://127.0.0.1:8480 --task ecg_analyse --size 20 \\
      --mode edge --no-probe --arrival-rate 25 --duration 30        # background load, Poisson

Sizes: ecg_rpeaks / ecg_analyse in seconds of 500 Hz ECG, arrhythmia in RR intervals,
image_compress as the side of a square tile in pixels. Times are wall clock (time.time_ns):
the device and edge clocks must agree (one host, or NTP/PTP) for the split into terms.
Exit status: 0 done, 1 the edge could not be reached or refused the probe, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import IO, Any

from . import estimate, workload
from .client import EdgeConnection
from .runner import MODES, Runner, RunSpec
from .summary import summarise


def _positive(kind: type) -> Any:
    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {value!r}") from None
        if number < 0:
            raise argparse.ArgumentTypeError(f"expected a non-negative {kind.__name__}, got {value!r}")
        return number
    return parse


def _section(start: str) -> str:
    """The paragraph of the module doc that begins with ``start`` (shown under each command's help)."""
    return next(p for p in __doc__.split("\n\n") if p.startswith(start))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devices.mec", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("probe", "print the estimates as JSON"), ("run", "run tasks and print a JSON summary")):
        sub = commands.add_parser(name, help=text, description=text, epilog=_section("Sizes:"),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--edge", required=True, help="the worker's URL, http://HOST:PORT")
        sub.add_argument("--task", default="ecg_analyse", choices=sorted(workload.SIZE_UNITS), help="task kind")
        sub.add_argument("--size", type=_positive(float), default=None,
                         help="task size (see Sizes below; default: the kind's calibration size)")
    run = commands.choices["run"]
    run.add_argument("--count", type=_positive(int), default=10, help="tasks to run (default 10)")
    run.add_argument("--duration", type=_positive(float), default=None,
                     help="run for this many seconds instead of --count tasks")
    run.add_argument("--mode", choices=MODES, default="auto", help="auto: decide per task; local/edge: force it")
    run.add_argument("--arrival-rate", type=_positive(float), default=0.0,
                     help="Poisson arrivals, tasks/s (0, the default: back-to-back, one at a time)")
    run.add_argument("--edge-arrival-rate", type=_positive(float), default=0.0,
                     help="known total arrival rate at the edge: predict its queue as M/M/c, not from /v1/health")
    run.add_argument("--measure-both", action="store_true", help="run every task locally and on the edge")
    run.add_argument("--no-probe", action="store_true", help="skip the estimates (forced modes only; no predictions)")
    run.add_argument("--estimates", type=argparse.FileType("r"), default=None,
                     help="decide with these estimates (JSON, as printed by probe) instead of probing now")
    run.add_argument("--seed", type=int, default=0, help="input and arrival seed")
    run.add_argument("--out", type=argparse.FileType("w"), default=None, help="JSON lines, one record per task")
    return parser


def _probe(url: str, kind: str, size: float | None) -> estimate.Estimates:
    conn = EdgeConnection(url)
    try:
        return estimate.probe(conn, kind, size)
    finally:
        conn.close()


def _run(args: argparse.Namespace) -> dict[str, Any]:
    size = args.size or workload.CALIBRATION_SIZE[args.task]
    spec = RunSpec(args.edge, args.task, size, args.count, args.mode, args.arrival_rate, args.duration,
                   args.measure_both, args.edge_arrival_rate, args.seed)
    if args.estimates is not None:
        estimates: estimate.Estimates | None = estimate.Estimates.from_dict(json.load(args.estimates))
    else:
        estimates = None if args.no_probe else _probe(args.edge, args.task, size)
    out: IO[str] | None = args.out

    def write(record: dict[str, Any]) -> None:
        if out is not None:
            out.write(json.dumps(record) + "\n")

    runner = Runner(spec, estimates, write)
    signal.signal(signal.SIGTERM, lambda _s, _f: runner.stop.set())
    print(f"started {spec.mode} {spec.kind} size {spec.size} rate {spec.arrival_rate}/s", file=sys.stderr, flush=True)
    records = runner.run()
    if out:
        out.close()
    return {"spec": vars(spec), "estimates": estimates.as_dict() if estimates else None,
            "summary": summarise(records)}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run" and args.no_probe and args.mode == "auto":
        print("error: --no-probe: expected --mode local or edge (auto decides from the probe)", file=sys.stderr)
        return 2
    try:
        document = (_run(args) if args.command == "run"
                    else _probe(args.edge, args.task, args.size).as_dict())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # ConnectionError, refused, timeouts, HTTP client errors
        print(f"error: edge {args.edge}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(document), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
