"""How long ``testbed report`` takes on a large synthetic results directory, as JSON.

Builds, in a temporary directory, results for ``--tests`` tests of ``--measurements`` each
(latency, link, ledger, integrity and offload in turn, plus the ward topology) with
``--series`` latency series of ``--points`` samples, then times ``write_report`` alone::

    python bench/report.py                      # 200 tests x 10, ten 10,000-point series
    python bench/report.py --tests 1000 --keep  # keep the directory to look at the page
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.report import write_report  # noqa: E402
from testbed.topology import load_topology  # noqa: E402
from testbed.topology.graph import to_dot  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROFILES = ("5g-measured", "lte-measured", "wifi")
TERMS = ("upload", "queue", "compute", "download", "total", "local")


def _measurement(section: str, i: int, j: int, rng: random.Random) -> dict[str, Any]:
    """Measurement j of test i, shaped for ``section``."""
    value = rng.uniform(1, 100)
    labels: dict[str, Any] = {"section": section}
    extra: dict[str, Any] = {}
    unit = "ms"
    if section == "latency":
        labels |= {"device": f"dev{j}", "profile": PROFILES[i % len(PROFILES)]}
        pct = sorted(rng.uniform(5, 60) for _ in range(5))
        extra = {"statistic": "p99", "distribution": {
            "count": 600, "min": 1.0, "max": 80.0, "mean": pct[0], "stdev": 4.0,
            "percentiles": dict(zip(("50", "90", "95", "99", "99.9"), pct, strict=True))}}
        value = pct[3]
    elif section == "link":
        labels |= {"link": f"link{j}", "direction": ("up", "down")[i % 2], "configured": 40}
    elif section == "integrity":
        unit, value = "bool", float(rng.random() > 0.05)
    elif section == "offload":
        labels |= {"profile": PROFILES[i % 2], "load": j // len(TERMS) + i % 4, "term": TERMS[j % len(TERMS)],
                   "predicted": value * rng.uniform(0.8, 1.2)}
    outcome = rng.choice(("pass", "pass", "pass", "marginal", "fail", "unset"))
    return {"name": f"{section}.t{i}.m{j}", "unit": unit, "outcome": outcome, "value": value,
            "statistic": None, "limits": {"low": None, "high": 90.0, "marginal_low": None, "marginal_high": 80.0},
            "labels": labels, "description": f"synthetic {section}", "distribution": None, "series": None} | extra


def build(root: Path, tests: int, per_test: int, series: int, points: int) -> None:
    rng = random.Random(7)
    sections = ("latency", "link", "ledger", "integrity", "offload")
    doc_tests = []
    for i in range(tests):
        section = sections[i % len(sections)]
        measurements = [_measurement(section, i, j, rng) for j in range(per_test)]
        doc_tests.append({"nodeid": f"tests/e2e/test_{section}.py::test_{section}[{i}]",
                          "outcome": rng.choice(("passed", "passed", "passed", "failed", "skipped")),
                          "marginal": False, "duration_s": rng.uniform(0.1, 30), "topology": "ward",
                          "profile": None, "message": None, "measurements": measurements})
    latency = [m for t in doc_tests for m in t["measurements"] if m["labels"]["section"] == "latency"]
    (root / "series").mkdir()
    for k, m in enumerate(latency[:series]):
        m["series"] = f"series/{k:04d}.json"
        values = [rng.lognormvariate(3, 0.3) for _ in range(points)]
        (root / m["series"]).write_text(json.dumps(
            {"name": m["name"], "unit": "ms", "t_s": [n * 0.01 for n in range(points)], "values": values}))
    ward = REPO / "topologies" / "ward.yaml"
    topo = load_topology(str(ward))
    doc = {"format": "testbed-results/1", "started_utc": "2026-12-04T18:30:00Z",
           "finished_utc": "2026-12-04T18:41:12Z",
           "host": {"kernel": "6.1.0-27-amd64", "in_vm": True, "python": "3.11.7"},
           "command": "python bench/report.py",
           "topologies": {"ward": {"path": "topologies/ward.yaml", "sha256": "0" * 64, "nodes": len(topo.nodes),
                                   "links": len(topo.links), "dot": to_dot(topo)}},
           "tests": doc_tests}
    (root / "results.json").write_text(json.dumps(doc))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--measurements", type=int, default=10, help="per test")
    parser.add_argument("--series", type=int, default=10, help="latency measurements with a series file")
    parser.add_argument("--points", type=int, default=10_000, help="samples per series")
    parser.add_argument("--keep", action="store_true", help="keep the results directory and print its path")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tb-report-bench-"))
    build(root, args.tests, args.measurements, args.series, args.points)
    start = time.perf_counter()
    page = write_report(root)
    seconds = time.perf_counter() - start
    out = {"tests": args.tests, "measurements": args.tests * args.measurements, "series": args.series,
           "points": args.points, "seconds": round(seconds, 3), "bytes": page.stat().st_size}
    if args.keep:
        out["report"] = str(page)
    else:
        for path in sorted(root.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        root.rmdir()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
