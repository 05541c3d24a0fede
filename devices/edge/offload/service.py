"""The MEC worker's HTTP API: accept a task, queue it, run it, answer with the result and timestamps.

Why processes: the tasks (tasks.py) are CPU-bound pure Python, so worker threads would take turns
on the GIL and N workers would measure like one. Each of the N dispatcher threads owns a slot in a
``ProcessPoolExecutor`` of N processes and hands it one task at a time, so N tasks compute in
parallel and the edge behaves as the M/M/c server the model (testbed/offload/model.py) assumes.

Why a bounded queue that refuses: an edge that buffers without limit turns overload into unbounded
latency; the model and EdgeCloudSim count such tasks as failures. A task that finds ``--queue``
tasks already waiting is answered 503 at once, with the reason and the queue length.

Timestamps (``time.time_ns``, wall clock, so a synced client can compare them with its own)::

    received  the handler has read the whole body     → upload ends here (parsing is the edge's time)
    started   the worker process begins the task       → queue wait = started − received
    finished  the worker process ends it              → compute    = finished − started

Routes (JSON; errors are ``{"error": "..."}``)::

    POST /v1/tasks    {"kind": str, "input": {...}} → 200 {"kind", "result", "received_ns", "started_ns",
                      "finished_ns", "queue_wait_ns", "compute_ns"}; 400 bad input; 503 queue full
                      {"error", "queue_length", "queue_limit"}
    GET  /v1/health   {"status": "ok", "workers", "queue_length", "queue_limit", "running", "completed",
                       "rejected"}
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import tasks

MAX_BODY = 16 * 1024 * 1024
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v1/tasks"): "_task",
    ("GET", "/v1/health"): "_health",
}


WORKER_FAILED = "worker failed"  # the task process died: a server error (500), not a bad input


@dataclass
class Job:
    """One accepted task; the handler thread waits on ``done`` for the dispatcher's outcome."""

    kind: str
    data: dict[str, Any]
    received_ns: int
    done: threading.Event = field(default_factory=threading.Event)
    outcome: tuple[dict[str, Any] | str, bool, int, int] | None = None


class QueueFull(Exception):
    """The waiting queue holds ``limit`` tasks already."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"queue full: expected fewer than {limit} waiting tasks, got {length}")
        self.length, self.limit = length, limit


class WorkerPool:
    """N worker processes fed from a bounded FIFO by N dispatcher threads."""

    def __init__(self, workers: int, queue_limit: int) -> None:
        if workers < 1:
            raise ValueError(f"workers: expected at least 1, got {workers}")
        if queue_limit < 0:
            raise ValueError(f"queue: expected a non-negative limit, got {queue_limit}")
        self.workers, self.queue_limit = workers, queue_limit
        # forkserver: the server process has threads, and forking a threaded process is unsafe.
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self.waiting = self.running = self.completed = self.rejected = 0
        warm = [self._pool.submit(tasks.run_timed, "noop", {}) for _ in range(workers)]
        for future in warm:
            future.result()  # start every process now, not on the first measured task
        self._threads = [threading.Thread(target=self._dispatch, name=f"dispatch-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            if self.waiting >= self.queue_limit:
                self.rejected += 1
                raise QueueFull(self.waiting, self.queue_limit)
            self.waiting += 1
        self._queue.put(job)

    def _dispatch(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                self.waiting -= 1
                self.running += 1
            future: Future[Any] = self._pool.submit(tasks.run_timed, job.kind, job.data)
            try:
                job.outcome = future.result()
            except Exception as exc:  # a worker process died: answer, do not hang the client
                now = time.time_ns()
                job.outcome = (f"{WORKER_FAILED}: {exc!r}", False, now, now)
            with self._lock:
                self.running -= 1
                self.completed += 1
            job.done.set()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._pool.shutdown()


class OffloadServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], pool: WorkerPool) -> None:
        self.pool = pool
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, OffloadHandler)


class BadRequest(Exception):
    """Malformed request; answered 400 with this message."""


class OffloadHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # one write per answer (see devices/edge/ledger/service.py)
    disable_nagle_algorithm = True
    server: OffloadServer

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._route()

    def do_POST(self) -> None:  # noqa: N802
        self._route()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _route(self) -> None:
        name = ROUTES.get((self.command, urlsplit(self.path).path))
        if name is None:
            self._drain()
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"{self.command} {self.path}: no such route"})
            return
        handler: Callable[[], None] = getattr(self, name)
        try:
            handler()
        except BadRequest as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except QueueFull as exc:
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE,
                            {"error": str(exc), "queue_length": exc.length, "queue_limit": exc.limit})

    def _task(self) -> None:
        raw = self._body_bytes()
        received = time.time_ns()
        body = self._parsed(raw)
        if not isinstance(body, dict) or set(body) != {"kind", "input"}:
            raise BadRequest('body: expected {"kind": str, "input": {...}}')
        kind, data = body["kind"], body["input"]
        if kind not in tasks.TASKS:
            raise BadRequest(f"kind: expected one of {sorted(tasks.TASKS)}, got {kind!r}")
        if not isinstance(data, dict):
            raise BadRequest(f"input: expected a JSON object, got {type(data).__name__}")
        job = Job(kind, data, received)
        self.server.pool.submit(job)
        job.done.wait()
        assert job.outcome is not None
        result, ok, started, finished = job.outcome
        if not ok and str(result).startswith(WORKER_FAILED):
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(result)})  # ours, not the input's
            return
        if not ok:
            raise BadRequest(str(result))
        self._send_json(HTTPStatus.OK, {"kind": kind, "result": result, "received_ns": received,
                                        "started_ns": started, "finished_ns": finished,
                                        "queue_wait_ns": started - received, "compute_ns": finished - started})

    def _health(self) -> None:
        pool = self.server.pool
        self._send_json(HTTPStatus.OK, {"status": "ok", "workers": pool.workers, "queue_length": pool.waiting,
                                        "queue_limit": pool.queue_limit, "running": pool.running,
                                        "completed": pool.completed, "rejected": pool.rejected})

    def _body_bytes(self) -> bytes:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            raise BadRequest("expected a Content-Length header")
        if int(length) > MAX_BODY:
            self.close_connection = True
            raise BadRequest(f"body: expected at most {MAX_BODY} bytes, got {length}")
        return self.rfile.read(int(length))

    @staticmethod
    def _parsed(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"body: expected JSON, got a parse error: {exc}") from None

    def _drain(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) <= MAX_BODY:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _send_json(self, status: int, document: object) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
