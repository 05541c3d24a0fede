"""Builds synthetic results directories (format testbed-results/1) for the report tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WARD_DOT = 'graph "ward" {\n  "ecg1" -- "gnb" [label="ecg1-gnb"];\n  "gnb" -- "edge";\n}\n'


def measurement(name: str, value: float | None = 1.0, *, unit: str = "ms", outcome: str = "pass",
                section: str | None = None, **fields: Any) -> dict[str, Any]:
    """A measurement dict; ``section`` becomes labels.section, other keywords override fields."""
    m: dict[str, Any] = {"name": name, "unit": unit, "outcome": outcome, "value": value, "statistic": None,
                         "limits": None, "labels": {}, "description": None, "distribution": None, "series": None}
    labels = dict(fields.pop("labels", {}))
    if section:
        labels["section"] = section
    m.update(fields, labels=labels)
    return m


def limits(low: float | None = None, high: float | None = None, marginal_low: float | None = None,
           marginal_high: float | None = None) -> dict[str, float | None]:
    return {"low": low, "high": high, "marginal_low": marginal_low, "marginal_high": marginal_high}


def distribution(count: int = 100, lo: float = 1.0, hi: float = 100.0, **percentiles: float) -> dict[str, Any]:
    pct = {"50": 50.0, "90": 90.0, "99": 99.0} if not percentiles else {k.lstrip("p"): v
                                                                           for k, v in percentiles.items()}
    return {"count": count, "min": lo, "max": hi, "mean": (lo + hi) / 2, "stdev": 1.0, "percentiles": pct}


def latency(device: str, profile: str, *, series: str | None = None, value: float = 99.0,
            **fields: Any) -> dict[str, Any]:
    fields.setdefault("distribution", distribution())
    fields.setdefault("statistic", "p99")
    return measurement(f"latency.{device}", value, section="latency", series=series,
                       labels={"device": device, "profile": profile}, **fields)


class ResultsDir:
    """A results directory under construction: add tests and series, then ``write()``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.topologies: dict[str, Any] = {}
        self.tests: list[dict[str, Any]] = []
        self.series_count = 0

    def topology(self, name: str = "ward", dot: str = WARD_DOT) -> ResultsDir:
        self.topologies[name] = {"path": f"topologies/{name}.yaml", "sha256": "ab" * 32, "nodes": 3, "links": 2,
                                 "dot": dot}
        return self

    def test(self, nodeid: str, *measurements: dict[str, Any], outcome: str = "passed",
             message: str | None = None, **fields: Any) -> ResultsDir:
        test = {"nodeid": nodeid, "outcome": outcome, "marginal": False, "duration_s": 1.5, "topology": None,
                "profile": None, "message": message, "measurements": list(measurements)}
        test.update(fields)
        self.tests.append(test)
        return self

    def series(self, values: list[float], t_s: list[float] | None = None, name: str = "latency") -> str:
        """Writes a series file now and returns its path relative to the results directory."""
        self.series_count += 1
        relative = f"series/{self.series_count:04d}.json"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"name": name, "unit": "ms", "t_s": t_s, "values": values}))
        return relative

    def document(self) -> dict[str, Any]:
        return {"format": "testbed-results/1", "started_utc": "2026-12-04T18:30:00Z",
                "finished_utc": "2026-12-04T18:41:12Z",
                "host": {"kernel": "6.1.0-27-amd64", "in_vm": True, "python": "3.11.7"},
                "command": "pytest tests/e2e --results out", "topologies": self.topologies, "tests": self.tests}

    def write(self, document: dict[str, Any] | None = None) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "results.json").write_text(json.dumps(document or self.document(), indent=1))
        return self.root


def full(root: Path) -> ResultsDir:
    """A results directory with data for every section."""
    r = ResultsDir(root).topology()
    values = [float(v) for v in range(1, 101)]
    ecg = r.series(values, [i * 0.1 for i in range(100)])
    r.test("tests/e2e/test_latency.py::test_latency[ward-lte]",
           latency("ecg1", "lte", series=ecg, limits=limits(high=150, marginal_high=120)),
           latency("spo2", "lte"), topology="ward", profile="lte")
    r.test("tests/e2e/test_links.py::test_delay",
           measurement("link.ecg1-gnb.up.delay", 42.0, section="link",
                       labels={"link": "ecg1-gnb", "direction": "up", "configured": 40}),
           measurement("link.ecg1-gnb.down.rate", 9.0, unit="Mbit/s", section="link",
                       labels={"link": "ecg1-gnb", "direction": "down", "configured": "10"}))
    r.test("tests/e2e/test_ledger.py::test_throughput",
           measurement("ledger.throughput", 850.0, unit="tx/s", section="ledger"),
           measurement("ledger.committed", 6000.0, unit="records", section="ledger"))
    r.test("tests/e2e/test_integrity.py::test_chain",
           measurement("integrity.chain", 1, unit="bool", section="integrity", limits=limits(low=1)),
           measurement("integrity.tamper_detected", 0, unit="bool", outcome="fail", section="integrity"),
           outcome="failed", message="AssertionError: tamper not detected")
    r.test("tests/e2e/test_offload.py::test_offload[lte]",
           *(measurement(f"offload.{term}", measured, section="offload",
                         labels={"profile": "lte", "load": 4, "term": term, "predicted": predicted})
             for term, measured, predicted in [("upload", 12.0, 10.0), ("queue", 8.0, 10.0), ("compute", 30.0, 0),
                                               ("download", 2.0, 2.0), ("total", 52.0, 32.0), ("local", 80.0, 75.0)]))
    r.test("tests/e2e/test_misc.py::test_other", measurement("misc.uptime", 3.5, unit="s"))
    r.test("tests/e2e/test_misc.py::test_skipped", outcome="skipped", message="needs a modem")
    return r
