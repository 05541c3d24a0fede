"""An offload campaign on a rig: worker on the edge node, client on a device node, per-term figures.

For each background load ρ the campaign starts a Poisson generator (``devices.mec run --mode
edge`` in the edge node itself, so it loads the worker without touching the device's link) at
λ = ρ·c / E[S], lets the queue settle, runs the measured client, and sets each measured term
(n/mean/p50/p95) beside its prediction (testbed/offload/predict.py: the configured path plus
compute speeds from a calibration probe run in the device node, so under its CPU quota).

Why slow start after idle is switched off in the two nodes: the model's transfer term assumes a
warm flow (docs/reference/offload-model.md §2.1); with the Linux default a keep-alive
connection that idled one RTO (e.g. while the device ran the task locally) restarts from the
initial window and the upload term gains RTTs the model does not have.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devices.mec import workload
from devices.mec.client import encode_task
from devices.mec.estimate import Estimates
from devices.mec.summary import summarise

from ..agents import process
from ..agents.process import PYTHON, Target
from ..backends.emulated import EmulatedRig
from ..topology.model import Topology
from .predict import PathFigures, TermPrediction, path_figures, predict_terms

PORT = 8480
SETTLE_S = 1.0  # background load runs this long before measuring, so the queue is near steady state
TERMS = ("upload_s", "queue_s", "compute_s", "download_s", "total_s", "local_s")


@dataclass(frozen=True)
class CampaignSpec:
    """What to measure: ``count`` tasks of ``kind``/``size`` from ``device`` at each load in ``loads``."""

    device: str
    edge: str = "edge"
    kind: str = "ecg_analyse"
    size: float = 10.0
    count: int = 20
    mode: str = "edge"  # "auto" | "local" | "edge"
    loads: tuple[float, ...] = (0.0,)
    workers: int = 1
    measure_both: bool = True  # also run each task on the other side, at unloaded levels only (see run_client)
    queue_limit: int = 256
    edge_address: str | None = None  # default: the edge node's first address

    def __post_init__(self) -> None:
        bad = [rho for rho in self.loads if not 0 <= rho < 1]
        if bad:
            raise ValueError(f"loads: expected utilisations in [0, 1), got {bad}")


@dataclass(frozen=True)
class Worker:
    url: str
    target: Target


def start_worker(rig: EmulatedRig, node: str, address: str, workers: int, queue_limit: int, log: Path) -> Worker:
    target = process.start(rig, node, [PYTHON, "-m", "devices.edge.offload", "serve", "--listen", f"{address}:{PORT}",
                                       "--workers", str(workers), "--queue", str(queue_limit)], log)
    return Worker(target.wait_for_line("listening on http://").split()[2], target)


def warm_flows(rig: EmulatedRig, node: str) -> None:
    process.run(rig, node, ["sysctl", "-q", "-w", "net.ipv4.tcp_slow_start_after_idle=0"], "keep TCP windows warm")


def calibrate(rig: EmulatedRig, device: str, url: str, kind: str, size: float) -> Estimates:
    """The device's own probe (``devices.mec probe``) run in its node: link, edge and both speeds."""
    out = process.run(rig, device, [PYTHON, "-m", "devices.mec", "probe", "--edge", url, "--task", kind,
                                    "--size", str(size)], f"probe {url}", timeout=120)
    return Estimates.from_dict(json.loads(out))


def run_client(rig: EmulatedRig, device: str, url: str, spec: CampaignSpec, out: Path, edge_arrival: float = 0.0,
               estimates: Path | None = None, timeout: float = 600) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``devices.mec run`` in the device node (deciding with ``estimates`` if given, else its own
    probe): its JSON summary and its per-task records.

    Why the comparison run is skipped under load: in an emulated rig the device and the edge share
    the host's cores, so a local run during background load would slow the worker and itself,
    which two real boxes would not do.
    """
    argv = [PYTHON, "-m", "devices.mec", "run", "--edge", url, "--task", spec.kind, "--size", str(spec.size),
            "--count", str(spec.count), "--mode", spec.mode, "--edge-arrival-rate", str(edge_arrival),
            "--out", str(out)]
    if estimates is not None:
        argv += ["--estimates", str(estimates)]
    if spec.measure_both and edge_arrival == 0:
        argv.append("--measure-both")
    document = json.loads(process.run(rig, device, argv, f"offload client ({spec.mode})", timeout=timeout))
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return document, records


def start_load(rig: EmulatedRig, node: str, url: str, kind: str, size: float, rate: float, log: Path) -> Target:
    """A background Poisson generator at ``rate`` tasks/s until stopped (SIGTERM: it drains and exits 0);
    it logs a line starting ``started `` as its first arrival is due."""
    return process.start(rig, node, [PYTHON, "-m", "devices.mec", "run", "--edge", url, "--task", kind,
                                     "--size", str(size), "--mode", "edge", "--no-probe", "--arrival-rate",
                                     str(rate), "--duration", "86400", "--seed", "7"], log)


@dataclass(frozen=True)
class LoadResult:
    """One load level: the background λ, the measured summary, the prediction and every record."""

    rho: float
    arrival: float
    predicted: TermPrediction
    summary: dict[str, Any]
    records: list[dict[str, Any]] = field(repr=False)

    def figures(self) -> dict[str, dict[str, Any]]:
        """Per term: measured n/mean/p50/p95 (None if no such runs) and the predicted value (s)."""
        predicted = {**asdict(self.predicted), "total_s": self.predicted.total_s}
        return {t: {"measured": self.summary["measured"].get(t), "predicted": predicted[t]} for t in TERMS}


@dataclass(frozen=True)
class CampaignResult:
    spec: CampaignSpec
    path: PathFigures
    calibration: Estimates
    loads: list[LoadResult]

    def as_dict(self) -> dict[str, Any]:
        return {"spec": asdict(self.spec), "path": {**asdict(self.path), "rtt_s": self.path.rtt_s},
                "calibration": self.calibration.as_dict(),
                "loads": [{"rho": r.rho, "arrival": r.arrival, "summary": r.summary, "figures": r.figures()}
                          for r in self.loads]}


def edge_address(rig: EmulatedRig, node: str) -> str:
    """The node's first address (the edge's uplink side in the shipped topologies)."""
    return str(rig.node(node)["addresses"][0]).split("/")[0]


def run_campaign(rig: EmulatedRig, topo: Topology, spec: CampaignSpec, home: Path,
                 worker: Worker | None = None) -> CampaignResult:
    """Measure at each load in turn, on ``worker`` or on one started (and stopped) here.

    Calibration is the device's own probe: the first level's client's when that level is
    unloaded (one process less), a separate probe otherwise (λ needs E[S] before the load starts).
    """
    home.mkdir(parents=True, exist_ok=True)
    path = path_figures(topo, spec.device, spec.edge, rig.impairment)
    for node in (spec.device, spec.edge):
        warm_flows(rig, node)
    own = worker is None
    if worker is None:
        address = spec.edge_address or edge_address(rig, spec.edge)
        worker = start_worker(rig, spec.edge, address, spec.workers, spec.queue_limit, home / "worker.log")
    try:
        calibration = None if spec.loads[0] == 0 else calibrate(rig, spec.device, worker.url, spec.kind, spec.size)
        loads = []
        for rho in spec.loads:
            load, calibration = _measure_load(rig, spec, worker.url, path, calibration, rho, home)
            loads.append(load)
        assert calibration is not None
        return CampaignResult(spec, path, calibration, loads)
    finally:
        if own:
            worker.target.stop()


def _measure_load(rig: EmulatedRig, spec: CampaignSpec, url: str, path: PathFigures, calibration: Estimates | None,
                  rho: float, home: Path) -> tuple[LoadResult, Estimates]:
    units, input_bytes = _task_size(spec)
    estimates = home / "estimates.json"
    arrival = 0.0
    if calibration is not None:
        estimates.write_text(json.dumps(calibration.as_dict()))
        arrival = rho * spec.workers * calibration.speed.edge_units_per_s / units  # ρ = λ·E[S]/c
    load = start_load(rig, spec.edge, url, spec.kind, spec.size, arrival, home / f"load-rho{rho:g}.log") \
        if arrival > 0 else None
    try:
        if load is not None:
            load.wait_for_line("started ", timeout=60)
            time.sleep(SETTLE_S)  # let the background queue reach its steady state before measuring
        document, records = run_client(rig, spec.device, url, spec, home / f"records-rho{rho:g}.jsonl", arrival,
                                       estimates if calibration is not None else None)
    finally:
        if load is not None:
            load.stop()
    calibration = calibration or Estimates.from_dict(document["estimates"])
    speed = calibration.speed
    edge = [r["edge"] for r in records if r.get("edge")]
    output_bytes = edge[0]["output_bytes"] if edge else units * speed.output_bytes_per_unit
    predicted = predict_terms(path, input_bytes, output_bytes, units, speed.edge_units_per_s,
                              speed.local_units_per_s, arrival, spec.workers, speed.edge_handling_s)
    return LoadResult(rho, arrival, predicted, summarise(records) if records else document["summary"], records), \
        calibration


def _task_size(spec: CampaignSpec) -> tuple[float, int]:
    """Work units and request bytes of the campaign's task (the client builds the same input)."""
    data = workload.make_input(spec.kind, spec.size)
    return workload.work_units(spec.kind, data), len(encode_task(spec.kind, data))
