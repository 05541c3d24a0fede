"""The stand-in's main loop: scheduled frames into the durable queue, an uploader thread out of it.

Production and upload are separate threads so that an unreachable edge (back-off, timeouts)
never delays a capture: the scheduler keeps its deadlines and records wait on disk. On start
the queue says which frame and sequence number come next, so a restarted agent (after a
crash or kill -9) resumes the device's stream and resends what was not acknowledged.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from functools import partial

from .config import AgentConfig, payload_key, signing_key
from .queue import DurableQueue
from .records import Built, Frame, build_record
from .schedule import Clock, FrameScheduler, SystemClock
from .stats import StatsWriter
from .uploader import Counters, Uploader


@dataclass(frozen=True)
class Outcome:
    frames: int  # frames captured in this run
    pending: int  # records still waiting for an ack at exit
    late: int
    max_late_ns: int
    refused: str | None  # why the ledger refused a record, if it did


class Agent:
    def __init__(self, config: AgentConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.synth = config.synthesiser()
        self.signing_key, self.payload_key = signing_key(config), payload_key(config)
        self.clock = clock
        self.stop = threading.Event()  # set by SIGTERM/SIGINT: stop capturing, drain, exit
        self._wake = threading.Event()
        self._refused: str | None = None
        self._counters = Counters()

    def run(self) -> Outcome:
        config = self.config
        stats = StatsWriter(config.stats)
        queue = DurableQueue(config.queue, config.device_id)
        first = queue.next_frame
        stats.write("start", device_id=config.device_id, kind=config.kind, first_frame=first,
                    next_seq=queue.next_seq, pending=len(queue), period_ns=self.synth.period_ns)
        print(f"running {config.device_id} frame {first} seq {queue.next_seq} pending {len(queue)}",
              file=sys.stderr, flush=True)
        halt_upload = threading.Event()
        uploader_thread = threading.Thread(target=self._upload, args=(stats, halt_upload), name="uploader")
        uploader_thread.start()
        clock = self.clock or SystemClock(interrupt=self.stop)
        scheduler = FrameScheduler(self.synth.period_ns, clock, first=first, stop=self.stop)
        count = None if config.frames is None else max(0, config.frames - first)
        if config.duration_s is not None:
            by_time = int(config.duration_s * 1e9) // self.synth.period_ns
            count = by_time if count is None else min(count, by_time)
        made = 0
        try:
            for tick in scheduler.ticks(count):
                if self._refused:
                    break
                capture_ns = time.time_ns()
                frame = Frame(config.device_id, config.kind, tick.k, tick.k * self.synth.samples_per_frame,
                              capture_ns, self.synth.frame(tick.k, capture_ns))
                queue.enqueue(tick.k, capture_ns, tick.late_ns, partial(self._build, frame))
                made += 1
                self._wake.set()
            deadline = time.monotonic() + config.drain_s
            while len(queue) and time.monotonic() < deadline and not self._refused and uploader_thread.is_alive():
                time.sleep(0.01)
        finally:
            halt_upload.set()
            self._wake.set()
            uploader_thread.join()
            outcome = Outcome(made, len(queue), scheduler.late, scheduler.max_late_ns, self._refused)
            stats.write("summary", device_id=config.device_id, frames=made, next_seq=queue.next_seq,
                        pending=outcome.pending, late_frames=outcome.late, max_late_ns=outcome.max_late_ns,
                        refused=outcome.refused, **vars(self._counters))
            queue.close()
            stats.close()
        return outcome

    def _build(self, frame: Frame, seq: int) -> Built:
        return build_record(frame, seq, self.signing_key, self.payload_key)

    def _upload(self, stats: StatsWriter, halt: threading.Event) -> None:
        queue = DurableQueue(self.config.queue, self.config.device_id)
        try:
            uploader = Uploader(self.config.edge_url, queue, stats, batch=self.config.batch)
            uploader.counters = self._counters
            uploader.run(halt, self._wake)
        except Exception as exc:  # LedgerRefused, or a bug: the producer must stop waiting for acks
            self._refused = f"{type(exc).__name__}: {exc}"
        finally:
            queue.close()
