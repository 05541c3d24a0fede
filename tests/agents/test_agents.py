"""Agents and ledger as real processes in an unshaped emulated ward rig, driven from the controller.

The ledger's own entries are the proof of the agents' stats: every acknowledged record is
there exactly once, in sequence; a link outage only delays records, it loses none.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.agents import Deployment, DeviceFigures, LedgerEntry, figures, link_down, link_up, read_stats
from testbed.backends.emulated import EmulatedRig, clean
from testbed.backends.netns import list_netns
from testbed.topology.loader import load_topology

REPO = Path(__file__).resolve().parents[2]
KINDS = {"ecg1": "ecg", "spo2": "spo2", "nibp": "nibp"}
_names = itertools.count()


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedRig]:
    """An unshaped ward rig under a unique name, in a short run dir; always removed afterwards."""
    run_dir = Path(tempfile.mkdtemp(prefix="tba", dir="/dev/shm"))
    monkeypatch.setenv("TESTBED_RUN_DIR", str(run_dir))
    name = f"a{os.getpid() % 100000}x{next(_names)}"
    try:
        yield EmulatedRig.up(load_topology(REPO / "topologies" / "ward.yaml"), name, shaping=False)
    finally:
        clean(name)
        shutil.rmtree(run_dir, ignore_errors=True)
        assert not [ns for ns in list_netns() if ns.startswith(f"tb-{name}-")]


def held_by_ledger(entries: list[LedgerEntry], device: str) -> list[int]:
    return [e.seq for e in entries if e.device_id == device]


def report(figures: dict[str, DeviceFigures]) -> str:
    return json.dumps({n: {"acked": f.acked, "lost": f.lost, "p50_ms": f.latency and round(f.latency.p50_ms, 1),
                           "p99_ms": f.latency and round(f.latency.p99_ms, 1),
                           "max_ms": f.latency and round(f.latency.max_ms, 1)} for n, f in figures.items()})



@pytest.mark.root
def test_three_devices_upload_to_the_edge_ledger_none_lost_in_order(rig: EmulatedRig) -> None:
    with Deployment(rig, KINDS) as d:
        time.sleep(5)
        d.stop_agents()
        entries = d.ledger_entries()
        result = d.figures()
    print(report(result))
    assert set(result) == set(KINDS)
    for node, f in result.items():
        assert f.acked > 0 and f.lost == 0 and f.in_order, (node, f)
        assert f.latency is not None and 0 < f.latency.p50_ms < 1000, (node, f.latency)
        acked = [a.seq for a in read_stats(d.sensors[node].stats).acks]
        assert held_by_ledger(entries, node) == acked == list(range(1, f.acked + 1)), node
    assert result["ecg1"].acked >= 40  # 10 frames/s for ~5 s
    assert len(entries) == sum(f.acked for f in result.values())


@pytest.mark.root
def test_ecg_link_outage_delays_records_but_loses_none(rig: EmulatedRig) -> None:
    with Deployment(rig, KINDS) as d:
        time.sleep(1)
        down_at = time.time_ns()
        link_down(rig, "ecg1", "gnb")
        try:
            time.sleep(2)
        finally:
            link_up(rig, "ecg1", "gnb")
        time.sleep(1.5)
        d.stop_agents()
        entries = d.ledger_entries()
        result = d.figures()
    print(report(result))
    ecg = result["ecg1"]
    assert ecg.lost == 0 and ecg.in_order, ecg
    assert ecg.latency is not None and ecg.latency.max_ms >= 1500, ecg.latency
    acks = read_stats(d.sensors["ecg1"].stats).acks
    assert any(a.capture_ns > down_at and a.latency_ms >= 1000 for a in acks), "records made in the outage waited"
    assert held_by_ledger(entries, "ecg1") == [a.seq for a in acks] == list(range(1, ecg.acked + 1))
    for node in ("spo2", "nibp"):  # the other devices' links stayed up
        assert result[node].lost == 0 and result[node].in_order, result[node]
        assert held_by_ledger(entries, node) == list(range(1, result[node].acked + 1))
    # going down flushed the permanent neighbour entry too; coming back up restored it
    iface = next(i for i in rig.node("ecg1")["interfaces"] if i["name"] == "gnb")
    shown = json.loads(rig.run("ecg1", ["ip", "-j", "neigh", "show", "dev", "gnb"], check=True).stdout)
    assert [(n["dst"], n["lladdr"], n["state"]) for n in shown] == [(iface["peer"], iface["peer_mac"], ["PERMANENT"])]


def test_figures_from_a_stats_file(tmp_path: Path) -> None:
    lines = [{"event": "start", "device_id": "d1", "kind": "ecg", "first_frame": 0, "next_seq": 1, "pending": 0}]
    for seq, latency_ms in zip(range(1, 101), range(1, 101), strict=True):
        capture = seq * 10**9
        lines.append({"event": "ack", "device_id": "d1", "seq": seq, "frame": seq - 1, "capture_ns": capture,
                      "late_ns": 0, "enqueued_ns": capture, "send_ns": capture, "ack_ns": capture + latency_ms * 10**6,
                      "index": seq - 1, "already_held": False})
    lines.append({"event": "summary", "device_id": "d1", "frames": 102, "next_seq": 103, "pending": 2})
    path = tmp_path / "stats.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    f = figures(read_stats(path))
    assert (f.count, f.acked, f.lost, f.in_order) == (100, 100, 2, True)
    assert f.latency is not None
    assert (f.latency.min_ms, f.latency.p50_ms, f.latency.p95_ms, f.latency.p99_ms, f.latency.max_ms) == \
        (1, 50, 95, 99, 100)
    swapped = lines[:3] + [lines[4], lines[3]] + lines[5:]
    path.write_text("".join(json.dumps(line) + "\n" for line in swapped))
    assert not figures(read_stats(path)).in_order
