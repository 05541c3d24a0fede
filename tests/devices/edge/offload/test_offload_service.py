"""The offload worker service as a real process over loopback: results, timestamps, 503, queueing."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from devices.edge.offload import tasks

SIDE = 400  # a tile that takes tens of ms to process: long enough to queue behind
TILE = tasks.synthetic_tile(SIDE, SIDE, seed=7)
IMAGE = {"kind": "image_compress",
         "input": {"pixels": base64.b64encode(TILE).decode(), "width": SIDE, "height": SIDE, "level": 6}}


@contextmanager
def worker(workers: int, queue: int) -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-m", "devices.edge.offload", "serve", "--listen", "127.0.0.1:0",
                             "--workers", str(workers), "--queue", str(queue)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield int(line.split()[2].rsplit(":", 1)[1])
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def call(port: int, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, None if body is None else json.dumps(body).encode(),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def burst(port: int, count: int) -> list[tuple[int, Any]]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(port, "POST", "/v1/tasks", IMAGE), range(count)))


def test_runs_tasks_with_ordered_timestamps() -> None:
    with worker(2, 4) as port:
        status, health = call(port, "GET", "/v1/health")
        assert status == 200 and health["workers"] == 2 and health["queue_length"] == 0
        status, out = call(port, "POST", "/v1/tasks", {"kind": "arrhythmia", "input": {"rr_ms": [800] * 8}})
        assert status == 200 and out["result"]["flags"] == []
        status, out = call(port, "POST", "/v1/tasks", IMAGE)
        assert status == 200
        assert zlib.decompress(base64.b64decode(out["result"]["compressed"])) == TILE
        assert out["received_ns"] <= out["started_ns"] <= out["finished_ns"]
        assert out["queue_wait_ns"] == out["started_ns"] - out["received_ns"]
        assert out["compute_ns"] == out["finished_ns"] - out["started_ns"] > 0
        status, out = call(port, "POST", "/v1/tasks", {"kind": "fft", "input": {}})
        assert status == 400 and "expected one of" in out["error"] and "'fft'" in out["error"]
        status, out = call(port, "POST", "/v1/tasks", {"kind": "image_compress", "input": {"width": 2}})
        assert status == 400 and "expected int, got NoneType" in out["error"]


def test_full_queue_answers_503_and_loses_no_accepted_task() -> None:
    with worker(1, 2) as port:
        answers = burst(port, 10)
        accepted = [out for status, out in answers if status == 200]
        refused = [out for status, out in answers if status == 503]
        assert len(accepted) + len(refused) == 10
        assert refused and len(accepted) >= 3  # one running plus two waiting at least
        for out in refused:
            assert out["queue_length"] == out["queue_limit"] == 2 and "queue full" in out["error"]
        for out in accepted:
            assert zlib.decompress(base64.b64decode(out["result"]["compressed"])) == TILE
        status, health = call(port, "GET", "/v1/health")
        assert health["completed"] == len(accepted) and health["rejected"] == len(refused)
        assert health["queue_length"] == health["running"] == 0


def test_queue_wait_grows_with_load() -> None:
    with worker(1, 16) as port:
        alone = [call(port, "POST", "/v1/tasks", IMAGE)[1] for _ in range(3)]
        loaded = [out for _, out in burst(port, 6)]
    compute = sum(out["compute_ns"] for out in alone) / len(alone)
    light = max(out["queue_wait_ns"] for out in alone)
    waits = sorted(out["queue_wait_ns"] for out in loaded)
    assert light < compute  # an idle worker starts a task at once
    # One worker, six at once: the k-th waits for k-1 computes, so the last waits several.
    assert waits[-1] > 3 * compute > light
    assert sum(waits) / len(waits) > light + compute
