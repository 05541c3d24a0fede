"""The device-side MEC client against a real worker on loopback: estimates, decisions, timed runs, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.mec import client, estimate, workload
from devices.mec.estimate import EdgeState, Estimates, LinkEstimate, SpeedEstimate
from devices.mec.policy import Policy, snapshot_wait_s
from devices.mec.runner import Runner, RunSpec


@pytest.fixture(scope="module")
def edge_url() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "devices.edge.offload", "serve", "--listen", "127.0.0.1:0",
                             "--workers", "1", "--queue", "32"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield line.split()[2]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


@pytest.fixture
def conn(edge_url: str) -> Iterator[client.EdgeConnection]:
    connection = client.EdgeConnection(edge_url)
    yield connection
    connection.close()


def estimates(rtt: float = 0.01, up: float = 10e6, down: float = 50e6, local: float = 1e5, edge: float = 1e6,
              workers: int = 1, queue: int = 0, running: int = 0, handling: float = 0.0) -> Estimates:
    return Estimates(LinkEstimate(rtt, up, down), EdgeState(workers, queue, running),
                     SpeedEstimate("ecg_analyse", local, edge, 0.1, handling))


def test_offload_splits_the_time_into_terms_that_add_up(conn: client.EdgeConnection) -> None:
    data = workload.make_input("ecg_analyse", 10)
    timing = client.offload(conn, "ecg_analyse", data)
    assert timing.status == "ok" and timing.where == "edge"
    terms = (timing.upload_s, timing.queue_s, timing.compute_s, timing.download_s)
    assert all(t >= 0 for t in terms) and timing.compute_s > 0.001
    assert sum(terms) == pytest.approx(timing.total_s, abs=1e-6)
    assert timing.input_bytes == len(client.encode_task("ecg_analyse", data)) and timing.output_bytes > 100
    local = client.run_local("ecg_analyse", data)
    assert local.where == "local" and local.status == "ok" and local.compute_s == local.total_s > 0.001


def test_refusals_and_bad_input_are_records_not_exceptions(conn: client.EdgeConnection) -> None:
    bad = client.offload(conn, "ecg_analyse", {"samples": [1, 2, 3], "rate_hz": 500})
    assert bad.status == "error" and "HTTP 400" in str(bad.error) and "samples" in str(bad.error)
    assert client.run_local("ecg_analyse", {"samples": [1], "rate_hz": 500}).status == "error"
    with pytest.raises(ValueError, match="expected a URL such as"):
        client.EdgeConnection("10.0.0.1:8480")


def test_probe_measures_link_edge_and_speeds(conn: client.EdgeConnection) -> None:
    found = estimate.probe(conn, "ecg_analyse", 5)
    assert 0 < found.link.rtt_s < 0.05
    assert found.link.uplink_bps > 10e6 and found.link.downlink_bps > 10e6  # loopback: far above any radio
    assert found.edge == EdgeState(1, 0, 0)
    assert found.speed.local_units_per_s > 1e4 and found.speed.edge_units_per_s > 1e4
    assert found.speed.output_bytes_per_unit > 0
    assert 0 < found.speed.edge_handling_s < 0.05  # parse + hand-off to the worker process, on loopback
    assert Estimates.from_dict(json.loads(json.dumps(found.as_dict()))) == found


def test_policy_follows_the_model_and_forced_modes_keep_both_predictions() -> None:
    # 100 k units: 1 s here, 0.1 s on the edge; 1 MB up at 10 Mbit/s is 0.8 s more.
    local, offload = Policy(estimates()).predict(1e5, 1_000_000)
    assert local == pytest.approx(1.0)
    assert offload.uplink_s == pytest.approx(0.8) and offload.compute_s == pytest.approx(0.1)
    assert offload.propagation_s == pytest.approx(0.01) and offload.queue_s == 0
    assert Policy(estimates()).decide(1e5, 1_000_000).where == "edge"  # 0.91 + download < 1.0
    assert Policy(estimates(up=2e6)).decide(1e5, 1_000_000).where == "local"  # 4 s upload
    forced = Policy(estimates(up=2e6), forced="edge").decide(1e5, 1_000_000)
    assert forced.where == "edge" and forced.forced and forced.local_s < forced.offload.total_s
    assert set(forced.as_dict()) >= {"where", "forced", "local_s", "offload_s", "offload_queue_s"}
    with pytest.raises(ValueError, match="forced: expected one of"):
        Policy(estimates(), forced="cloud")  # type: ignore[arg-type]


def test_queue_prediction_from_the_snapshot_or_a_known_arrival_rate() -> None:
    assert snapshot_wait_s(EdgeState(2, 0, 1), 0.1) == 0
    assert snapshot_wait_s(EdgeState(1, 0, 1), 0.1) == pytest.approx(0.05)  # half the running task
    assert snapshot_wait_s(EdgeState(2, 4, 2), 0.1) == pytest.approx(0.2 + 0.1 / 3)
    busy = Policy(estimates(queue=4, running=1)).predict(1e5, 1000, EdgeState(1, 4, 1))[1]
    assert busy.queue_s == pytest.approx(4.5 * 0.1)
    known = Policy(estimates(), edge_arrival=5.0).predict(1e5, 1000)[1]  # M/M/1, ρ = 0.5
    assert known.queue_s == pytest.approx(0.5 / (10 - 5))
    # the edge's own handling comes on top of either wait, and can tip a close call to local
    assert Policy(estimates(handling=0.03)).predict(1e5, 1000)[1].queue_s == pytest.approx(0.03)
    handled = Policy(estimates(handling=0.03), edge_arrival=5.0).predict(1e5, 1000)[1]
    assert handled.queue_s == pytest.approx(0.03 + 0.1)
    close = estimates(up=1e9, rtt=0.001, local=1e5, edge=1.2e5)  # 1 s here, 0.83 s there
    assert Policy(close).decide(1e5, 1000).where == "edge"
    assert Policy(estimates(up=1e9, rtt=0.001, local=1e5, edge=1.2e5, handling=0.2)).decide(1e5, 1000).where == "local"


def test_runner_records_both_sides_and_poisson_arrivals_overlap(edge_url: str) -> None:
    found = estimate.probe(client.EdgeConnection(edge_url), "ecg_analyse", 5)
    spec = RunSpec(edge_url, "ecg_analyse", 5, count=4, mode="auto", measure_both=True)
    records = Runner(spec, found).run()
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    for r in records:
        assert r["status"] == "ok" and r["edge"]["compute_s"] > 0 and r["local_s"] > 0
        assert r["decision"]["where"] == r["where"] and r["edge_state"]["workers"] == 1
    poisson = Runner(RunSpec(edge_url, "ecg_analyse", 5, count=12, mode="edge", arrival_rate=200), None).run()
    assert len(poisson) == 12 and all(r["decision"] is None for r in poisson)
    assert max(r["edge"]["queue_s"] for r in poisson) > 0.005  # arrivals did not wait for answers
    with pytest.raises(ValueError, match="mode auto: expected estimates"):
        Runner(RunSpec(edge_url, "ecg_analyse", 5), None)
    with pytest.raises(ValueError, match="mode: expected one of"):
        RunSpec(edge_url, "ecg_analyse", 5, mode="cloud")


def test_cli_probe_and_run(edge_url: str, tmp_path: Path) -> None:
    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "devices.mec", *argv], capture_output=True, text=True,
                              timeout=60)

    probe = cli("probe", "--edge", edge_url, "--task", "arrhythmia", "--size", "500")
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout)["speed"]["kind"] == "arrhythmia"
    out = tmp_path / "r.jsonl"
    run = cli("run", "--edge", edge_url, "--task", "arrhythmia", "--size", "500", "--count", "3", "--mode", "local",
              "--out", str(out))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)["summary"]
    assert summary["ok"] == summary["local"] == summary["measured"]["local_s"]["n"] == 3
    assert summary["measured"]["upload_s"] is None
    assert len(out.read_text().splitlines()) == 3
    assert cli("run", "--edge", edge_url, "--no-probe").returncode == 2
    refused = cli("probe", "--edge", "http://127.0.0.1:1")
    assert refused.returncode == 1 and "error: edge http://127.0.0.1:1" in refused.stderr
    assert "Poisson" in cli("run", "--help").stdout and "Sizes:" in cli("--help").stdout
