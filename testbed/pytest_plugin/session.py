"""What the plugin keeps for a session: the rig pool, the results writer, each test's record.

A test's outcome is assembled from its setup, call and teardown reports (pytest's own
rules: a failed setup or teardown is an error, a skip anywhere is a skip) and written to
results.json when its teardown report arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..measure.measurement import Measurement, Recorder
from ..measure.results import ResultEntry, ResultsWriter
from .rigs import RigPool

RECORDER = pytest.StashKey[Recorder]()
TOPOLOGY = pytest.StashKey[str]()
PROFILE = pytest.StashKey[str]()


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)[:4000]
    return str(longrepr)[-4000:] if longrepr else ""


@dataclass
class Pending:
    outcome: str = "passed"
    message: str | None = None
    duration_s: float = 0.0


@dataclass
class TestbedSession:
    pool: RigPool
    writer: ResultsWriter | None
    results_dir: Path | None
    pending: dict[str, Pending] = field(default_factory=dict)
    measurements: list[tuple[str, Measurement]] = field(default_factory=list)

    def on_report(self, item: pytest.Item, report: pytest.TestReport) -> None:
        state = self.pending.setdefault(report.nodeid, Pending())
        state.duration_s += report.duration
        if report.skipped and state.outcome == "passed":
            state.outcome, state.message = "skipped", _message(report)
        elif report.failed:
            if report.when == "call" and state.outcome == "passed":
                state.outcome, state.message = "failed", _message(report)
            elif state.outcome in ("passed", "skipped"):
                state.outcome, state.message = "error", f"{report.when}: {_message(report)}"
        if report.when != "teardown":
            return
        del self.pending[report.nodeid]
        recorder = item.stash.get(RECORDER, None)
        recorded = recorder.measurements if recorder is not None else []
        self.measurements += [(report.nodeid, m) for m in recorded]
        if self.writer is not None:
            entries = [self.writer.measurement_entry(m) for m in recorded]
            self.writer.add(ResultEntry(report.nodeid, state.outcome, state.duration_s, item.stash.get(TOPOLOGY, None),
                                       item.stash.get(PROFILE, None), state.message, entries))
