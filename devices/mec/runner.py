"""A stream of tasks from one device: back-to-back, or open-loop Poisson arrivals at rate λ.

Why open loop: the reference queue (M/M/c) assumes arrivals that do not wait for earlier
answers; a loop that sends the next task only after the last answer would never queue. So with
``arrival_rate`` > 0 each task starts at its own exponential arrival time on its own thread and
keep-alive connection, whether or not earlier ones have finished. ``arrival_rate`` 0 runs the
tasks one after the other on one connection (no self-queueing: the cleanest per-term figures).

One record per task (a JSON line with ``--out``; durations in s, stamps in ns, wall clock)::

    index, kind, size, units       which task, its size and work units
    where, status, error           where it ran ("local" | "edge"), "ok" | "rejected" | "error"
    sent_ns, total_s               start and completion time of the run that counted
    edge                           {upload_s, queue_s, compute_s, download_s, total_s, input_bytes,
                                    output_bytes, sent_ns, done_ns} when it (also) ran on the edge
    local_s                        local compute time when it (also) ran here
    decision                       {where, forced, local_s, offload_s, offload_<term>, decision_s}
                                   (None without estimates); decision_s is the /v1/health ask
    edge_state                     the /v1/health snapshot the decision used, if any
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, cast

from . import client, workload
from .client import EdgeConnection, Timing
from .estimate import EdgeState, Estimates
from .policy import WHERE, Policy, Where

MODES = ("auto", *WHERE)


@dataclass(frozen=True)
class RunSpec:
    """What to run: ``count`` tasks (or as many as arrive in ``duration_s``) of one kind and size."""

    edge_url: str
    kind: str
    size: float
    count: int = 10
    mode: str = "auto"  # "auto" | "local" | "edge"
    arrival_rate: float = 0.0  # tasks/s, Poisson; 0 = back-to-back
    duration_s: float | None = None
    measure_both: bool = False  # run every task on both sides, whatever the decision
    edge_arrival: float = 0.0  # known arrival rate at the edge: M/M/c queue prediction instead of the snapshot
    seed: int = 0
    concurrency: int = 64  # most tasks in flight with Poisson arrivals

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {self.mode!r}")
        if self.count < 1 and self.duration_s is None:
            raise ValueError(f"count: expected at least 1 task, got {self.count}")
        if self.arrival_rate < 0:
            raise ValueError(f"arrival rate: expected tasks/s >= 0, got {self.arrival_rate!r}")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ValueError(f"duration: expected seconds > 0, got {self.duration_s!r}")


@dataclass(frozen=True)
class Prepared:
    """The task input, built and encoded once: every task of a run sends the same bytes."""

    data: dict[str, Any]
    body: bytes
    units: float


def _edge_terms(t: Timing) -> dict[str, Any]:
    return {"upload_s": t.upload_s, "queue_s": t.queue_s, "compute_s": t.compute_s, "download_s": t.download_s,
            "total_s": t.total_s, "input_bytes": t.input_bytes, "output_bytes": t.output_bytes,
            "sent_ns": t.sent_ns, "done_ns": t.done_ns}


class Runner:
    """Runs a :class:`RunSpec`; ``estimates`` may be None only for a forced mode (no predictions)."""

    def __init__(self, spec: RunSpec, estimates: Estimates | None,
                 on_record: Callable[[dict[str, Any]], None] | None = None) -> None:
        if estimates is None and spec.mode == "auto":
            raise ValueError("mode auto: expected estimates to decide with (probe the edge first)")
        self.spec, self.on_record = spec, on_record
        forced = None if spec.mode == "auto" else cast(Where, spec.mode)
        self.policy = Policy(estimates, forced, spec.edge_arrival) if estimates is not None else None
        data = workload.make_input(spec.kind, spec.size, spec.seed)
        self.task = Prepared(data, client.encode_task(spec.kind, data), workload.work_units(spec.kind, data))
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._local = threading.local()
        self._connections: list[EdgeConnection] = []

    def _connection(self) -> EdgeConnection:
        conn: EdgeConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = EdgeConnection(self.spec.edge_url)
            with self._lock:
                self._connections.append(conn)
        return conn

    def run_one(self, index: int) -> dict[str, Any]:
        """Decide, run where decided (or both), and record every term and both predictions."""
        spec, task, conn = self.spec, self.task, self._connection()
        state, decision_s = None, 0.0
        if self.policy is not None and spec.mode == "auto" and spec.edge_arrival <= 0:
            asked = time.time_ns()
            state = EdgeState.from_health(conn.health())
            decision_s = (time.time_ns() - asked) / 1e9
        decision = self.policy.decide(task.units, len(task.body), state) if self.policy is not None else None
        where = decision.where if decision is not None else spec.mode
        edge = client.offload(conn, spec.kind, task.body) if where == "edge" or spec.measure_both else None
        local = client.run_local(spec.kind, task.data) if where == "local" or spec.measure_both else None
        chosen = edge if where == "edge" else local
        assert chosen is not None
        record = {"index": index, "kind": spec.kind, "size": spec.size, "units": task.units, "where": where,
                  "status": chosen.status, "error": chosen.error, "sent_ns": chosen.sent_ns,
                  "total_s": chosen.total_s, "edge": _edge_terms(edge) if edge and edge.status == "ok" else None,
                  "edge_status": edge.status if edge else None,
                  "local_s": local.compute_s if local and local.status == "ok" else None,
                  "decision": {**decision.as_dict(), "decision_s": decision_s} if decision else None,
                  "edge_state": asdict(state) if state else None}
        with self._lock:
            self._records.append(record)
            if self.on_record is not None:
                self.on_record(record)
        return record

    def run(self) -> list[dict[str, Any]]:
        """All tasks, in index order; :attr:`stop` (e.g. from SIGTERM) ends the stream early."""
        spec = self.spec
        deadline = time.monotonic() + spec.duration_s if spec.duration_s is not None else None
        more = (lambda i: time.monotonic() < deadline) if deadline is not None else (lambda i: i < spec.count)
        try:
            if spec.arrival_rate <= 0:
                index = 0
                while more(index) and not self.stop.is_set():
                    self.run_one(index)
                    index += 1
            else:
                self._poisson(more)
        finally:
            for conn in self._connections:
                conn.close()
        return sorted(self._records, key=lambda r: r["index"])

    def _poisson(self, more: Callable[[int], bool]) -> None:
        rng = random.Random(f"arrivals:{self.spec.seed}")
        with ThreadPoolExecutor(self.spec.concurrency, thread_name_prefix="task") as pool:
            start, at, index, futures = time.monotonic(), 0.0, 0, []
            while more(index) and not self.stop.is_set():
                if self.stop.wait(max(0.0, start + at - time.monotonic())):  # until the next arrival
                    break
                futures.append(pool.submit(self.run_one, index))
                index += 1
                at += rng.expovariate(self.spec.arrival_rate)
        for future in futures:
            future.result()  # a task that raised (e.g. the edge went away) fails the run
