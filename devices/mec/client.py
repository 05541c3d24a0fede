"""Run one task on the device or on the edge worker, timing every term of its completion time.

Why wall-clock stamps on both sides: the worker stamps ``received``/``started``/``finished``
with ``time.time_ns``; the device stamps send start and response-fully-read the same way, so
on one host (an emulated rig's namespaces share the clock) or on NTP/PTP-synced boxes the
completion time splits into the reference's terms (docs/reference/offload-model.md §2.1)::

    upload   = received − sent      (request transfer + one-way delay, up to the body's last byte)
    queue    = started − received   (parsing, then waiting for a worker process)
    compute  = finished − started
    download = done − finished      (result transfer + one-way delay)
    total    = done − sent          (exactly the sum of the four)

Why one keep-alive connection: the model assumes a warm flow; a TCP handshake per task would
add an RTT the model does not have (and slow start after it).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from devices.edge.offload import tasks

TASKS_PATH = "/v1/tasks"
HEALTH_PATH = "/v1/health"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer with the device's stamps around it (ns, wall clock)."""

    status: int
    body: bytes
    sent_ns: int
    done_ns: int

    def json(self) -> Any:
        return json.loads(self.body)


class EdgeConnection:
    """One keep-alive HTTP/1.1 connection to the worker at ``url`` (http://HOST:PORT)."""

    def __init__(self, url: str, timeout: float = 120) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"edge: expected a URL such as http://10.0.0.2:8480, got {url!r}")
        self.url, self.host, self.port, self.timeout = url, parts.hostname, parts.port, timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connected(self) -> http.client.HTTPConnection:
        if self._conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            conn.connect()  # outside the timed span: the handshake is not part of a task
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
        return self._conn

    def request(self, method: str, path: str, body: bytes | None = None) -> Reply:
        """Send and read the whole answer; reconnect once if the worker had closed the connection."""
        for attempt in (1, 2):
            conn = self._connected()
            sent = time.time_ns()
            try:
                conn.request(method, path, body, {"Content-Type": "application/json"} if body is not None else {})
                response = conn.getresponse()
                data = response.read()
                done = time.time_ns()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return Reply(response.status, data, sent, done)
        raise AssertionError("unreachable")

    def health(self) -> dict[str, Any]:
        reply = self.request("GET", HEALTH_PATH)
        if reply.status != 200:
            raise ConnectionError(f"{self.url}{HEALTH_PATH}: expected 200, got {reply.status}: {reply.body[:200]!r}")
        document: dict[str, Any] = reply.json()
        return document

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(frozen=True)
class Timing:
    """One task's terms in seconds; local runs have only compute (and total)."""

    where: str  # "local" | "edge"
    status: str  # "ok" | "rejected" (edge queue full, 503) | "error"
    sent_ns: int
    done_ns: int
    upload_s: float = 0.0
    queue_s: float = 0.0
    compute_s: float = 0.0
    download_s: float = 0.0
    input_bytes: int = 0
    output_bytes: int = 0
    error: str | None = None

    @property
    def total_s(self) -> float:
        return (self.done_ns - self.sent_ns) / 1e9


def encode_task(kind: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"kind": kind, "input": data}, separators=(",", ":")).encode()


def offload(conn: EdgeConnection, kind: str, data: dict[str, Any] | bytes) -> Timing:
    """POST the task (``data`` may be pre-encoded with :func:`encode_task`) and split its time."""
    body = data if isinstance(data, bytes) else encode_task(kind, data)
    reply = conn.request("POST", TASKS_PATH, body)
    sizes = len(body), len(reply.body)
    if reply.status != 200:
        status = "rejected" if reply.status == 503 else "error"
        return Timing("edge", status, reply.sent_ns, reply.done_ns, 0.0, 0.0, 0.0, 0.0, *sizes,
                      error=f"HTTP {reply.status}: {_error(reply)}")
    out = reply.json()
    received, started, finished = out["received_ns"], out["started_ns"], out["finished_ns"]
    return Timing("edge", "ok", reply.sent_ns, reply.done_ns, (received - reply.sent_ns) / 1e9,
                  (started - received) / 1e9, (finished - started) / 1e9, (reply.done_ns - finished) / 1e9, *sizes)


def _error(reply: Reply) -> str:
    try:
        return str(reply.json().get("error", reply.body[:200]))
    except ValueError:
        return repr(reply.body[:200])


def run_local(kind: str, data: dict[str, Any]) -> Timing:
    """Run the task in this process: the same function the worker runs, under this node's CPU quota."""
    started = time.time_ns()
    try:
        tasks.run(kind, data)
        status, error = "ok", None
    except tasks.TaskError as exc:
        status, error = "error", str(exc)
    finished = time.time_ns()
    return Timing(where="local", status=status, sent_ns=started, done_ns=finished,
                  compute_s=(finished - started) / 1e9, error=error)
