"""Send queued records to the edge ledger in sequence order, over one keep-alive connection.

Oldest first, up to ``batch`` records per ``POST /v1/records``; a record leaves the queue only
when the ledger acknowledged it. While the edge is unreachable (refused, reset, timeout, 5xx)
the uploader backs off exponentially and retries the same oldest records, so order is kept.

A 409 whose message says the ledger already holds a higher-or-equal sequence number for this
device means an earlier attempt was committed but its ack never reached the queue (a crash or
a lost answer): the record counts as acknowledged, ``already_held`` in the stats. Any other
refusal (not enrolled, bad signature, malformed) cannot be fixed by retrying and stops the
uploader with :class:`LedgerRefused`; skipping the record would break the order guarantee.

Each record's encrypted payload goes first, to the edge's content-addressed payload store
(``PUT /v1/payloads/{sha256}``, idempotent), then the envelope that names its hash: the chain
never points at a payload the edge does not hold. The local copy is dropped with the ack.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigError, LedgerRefused
from .queue import DurableQueue, QueuedRecord
from .stats import StatsWriter

_ABOVE = re.compile(r"expected a sequence number above (\d+), got (\d+)")


class Unreachable(Exception):
    """The edge did not answer usefully this time; retry later."""


@dataclass
class Counters:
    posts: int = 0
    acked: int = 0
    already_held: int = 0
    failures: int = 0  # attempts that found the edge unreachable


class Uploader:
    def __init__(self, edge_url: str, queue: DurableQueue, stats: StatsWriter, batch: int = 100,
                 timeout_s: float = 5.0, backoff_s: tuple[float, float] = (0.05, 2.0)) -> None:
        url = urlsplit(edge_url)
        if url.scheme != "http" or not url.hostname:
            raise ConfigError(f"edge_url: expected http://HOST:PORT, got {edge_url!r}")
        self.host, self.port = url.hostname, url.port or 80
        self.base = url.path.rstrip("/")
        self.queue, self.stats, self.batch, self.timeout_s = queue, stats, batch, timeout_s
        self.backoff_s = backoff_s
        self.counters = Counters()
        self._conn: http.client.HTTPConnection | None = None

    def send_once(self) -> int:
        """Send the oldest batch; return how many records left the queue (0 when it was empty)."""
        records = self.queue.oldest(self.batch)
        if not records:
            return 0
        send_ns = time.time_ns()
        for record in records:
            self._put_payload(record)
        body = json.dumps({"records": [base64.b64encode(r.wire).decode() for r in records]}).encode()
        status, answer = self._post("/v1/records", body)
        ack_ns = time.time_ns()
        self.counters.posts += 1
        if status >= 500:
            raise Unreachable(f"ledger answered {status}: {answer.get('error')}")
        results = answer.get("results")
        if status not in (201, 207) or not isinstance(results, list) or len(results) != len(records):
            raise LedgerRefused(f"POST /v1/records: expected 201/207 with {len(records)} results, "
                                f"got {status}: {answer}")
        acked = []
        for record, result in zip(records, results, strict=True):
            held = self._already_held(record, result)
            acked.append(record.seq)
            self.stats.write("ack", device_id=self.queue.device_id, seq=record.seq, frame=record.frame,
                             capture_ns=record.capture_ns, late_ns=record.late_ns, enqueued_ns=record.enqueued_ns,
                             send_ns=send_ns, ack_ns=ack_ns, index=result.get("index"), already_held=held)
        self.queue.acknowledge(acked)
        self.counters.acked += len(acked)
        return len(acked)

    def _already_held(self, record: QueuedRecord, result: dict[str, object]) -> bool:
        if "index" in result:
            if result.get("seq") != record.seq:
                raise LedgerRefused(f"ack for record #{record.seq}: expected seq {record.seq}, got {result}")
            return False
        found = _ABOVE.search(str(result.get("error", "")))
        if result.get("status") == 409 and found and int(found.group(1)) >= record.seq == int(found.group(2)):
            self.counters.already_held += 1
            return True
        raise LedgerRefused(f"record #{record.seq} refused: {result}")

    def _put_payload(self, record: QueuedRecord) -> None:
        ciphertext = self.queue.payload(record.seq)
        if ciphertext is None:
            return  # acknowledged before (a restart after the ack reached the ledger but not us)
        status, answer = self._post(f"/v1/payloads/{hashlib.sha256(ciphertext).hexdigest()}", ciphertext,
                                    method="PUT", content_type="application/octet-stream")
        if status >= 500:
            raise Unreachable(f"payload store answered {status}: {answer.get('error')}")
        if status not in (200, 201):
            raise LedgerRefused(f"payload of record #{record.seq} refused: {status} {answer}")

    def _post(self, path: str, body: bytes, method: str = "POST",
              content_type: str = "application/json") -> tuple[int, dict[str, object]]:
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
            self._conn.request(method, self.base + path, body, {"Content-Type": content_type})
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise Unreachable(f"{self.host}:{self.port}: {type(exc).__name__}: {exc}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {"error": raw[:200].decode(errors="replace")}
        if response.getheader("Connection", "").lower() == "close":
            self._drop()
        return response.status, answer if isinstance(answer, dict) else {"error": repr(answer)}

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        """Drain the queue until ``stop``; sleep on ``wake`` when empty, back off when unreachable."""
        delay = self.backoff_s[0]
        try:
            while not stop.is_set():
                try:
                    sent = self.send_once()
                    delay = self.backoff_s[0]
                except Unreachable:
                    self.counters.failures += 1
                    stop.wait(delay)
                    delay = min(delay * 2, self.backoff_s[1])
                    continue
                if sent == 0:
                    wake.wait(0.5)
                    wake.clear()
        finally:
            self._drop()
