"""Computation offload on the remote-ultrasound rig: the probe (a half-CPU Pi stand-in) runs an
ECG analysis locally or on the MEC edge, under each radio profile and edge load.

For every profile the policy decides per task from its own estimates; each task is also run
the other way (at zero load), so the suite checks that the choice was the faster one wherever
the two differ by more than 20 %, and sets every measured term beside the model's prediction.
On a native kernel with netem each term must be within ±10 % (or ±2 ms) of the model; under
the VM's TCG emulation the figures are reported and only the orderings are asserted. The
probe's tasks go to the edge; the other ordering is the ward's ECG monitor, as fast as the
edge, which keeps its tasks on the device.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

from testbed.backends import state
from testbed.measure import Recorder
from testbed.offload.campaign import CampaignSpec, run_campaign

pytestmark = [pytest.mark.root, pytest.mark.netem]

IN_VM = bool(os.environ.get("TESTBED_IN_VM"))
TERMS = ("upload_s", "queue_s", "compute_s", "download_s", "total_s", "local_s")
CLEAR_MARGIN = 1.2  # a choice is judged only when one way is at least 20 % faster


def tolerance(predicted_ms: float) -> dict[str, float | None]:
    if IN_VM:
        return {}
    band = max(0.1 * predicted_ms, 2.0)
    return {"low": max(0.0, predicted_ms - band), "high": predicted_ms + band}


def judge_choices(measurements: Recorder, records: list[dict], start: int = 0) -> int:
    """Check the policy's choice for every task run both ways whose two times differ clearly."""
    judged = 0
    for r in records:
        if r.get("local_s") is None or not r.get("edge"):
            continue
        local, edge = r["local_s"], r["edge"]["total_s"]
        if max(local, edge) >= CLEAR_MARGIN * min(local, edge):
            judged += 1
            faster = "local" if local < edge else "edge"
            measurements.check(f"offload.choice.task{r.get('index', start + judged)}", r["where"] == faster,
                               section="integrity", description=f"chose {r['where']}: local {local * 1e3:.1f} ms, "
                                                                f"edge {edge * 1e3:.1f} ms")
    return judged


@pytest.mark.topology("ultrasound")
@pytest.mark.profile("nr-urllc-target", "nsa-lowband-measured", "lte-measured", "sa-lowband-2021")
def test_policy_picks_the_faster_side_and_terms_follow_the_model(rig, link_profile, measurements: Recorder) -> None:
    spec = CampaignSpec(device="probe", kind="ecg_analyse", size=20.0, count=4, mode="auto", loads=(0.0, 0.5))
    home = state.rig_dir(rig.name) / "offload" / link_profile.name
    result = run_campaign(rig, rig.topology, spec, Path(home))
    judged = 0
    for load in result.loads:
        for term, figure in load.figures().items():
            measured = figure["measured"]
            if measured is None:
                continue
            predicted_ms = figure["predicted"] * 1000
            limits = tolerance(predicted_ms) if term in ("upload_s", "compute_s", "download_s") else {}
            measurements.record(f"offload.{term.removesuffix('_s')}.rho{load.rho:g}", measured["mean"] * 1000, "ms",
                                section="offload", term=term.removesuffix("_s"), load=load.rho,
                                predicted=round(predicted_ms, 3), **limits)
        judged += judge_choices(measurements, load.records, judged)
    idle, loaded = result.loads
    queue_idle = statistics.mean(r["edge"]["queue_s"] for r in idle.records if r.get("edge"))
    queue_loaded = [r["edge"]["queue_s"] for r in loaded.records if r.get("edge")]
    if queue_loaded:  # under load the policy may keep every task local; then there is no edge queue to see
        measurements.record("offload.queue_growth", statistics.mean(queue_loaded) - queue_idle, "s", low=0,
                            section="offload-order", description="edge queue wait at ρ 0.5 minus at ρ 0")
    measurements.record("offload.choices_judged", judged, "tasks", section="offload-order")


@pytest.mark.topology("ward")
@pytest.mark.profile("lte-measured")
def test_a_device_as_fast_as_the_edge_keeps_its_tasks(rig, link_profile, measurements: Recorder) -> None:
    """The ward's ECG monitor has no CPU quota: the edge computes no faster than it does, so sending
    a task there only adds the LTE path, and the model (hence the policy) keeps the task local."""
    spec = CampaignSpec(device="ecg1", kind="ecg_analyse", size=5.0, count=4, mode="auto", loads=(0.0,))
    result = run_campaign(rig, rig.topology, spec, Path(state.rig_dir(rig.name) / "offload-ecg1"))
    records = result.loads[0].records
    measurements.record("offload.kept_local", sum(r["where"] == "local" for r in records), "tasks",
                        section="offload-order", description=f"of {len(records)} tasks")
    measurements.record("offload.choices_judged", judge_choices(measurements, records), "tasks", low=1,
                        section="offload-order", description="tasks whose local and edge times differ by 20 % or more")
