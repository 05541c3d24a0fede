"""The emulated backend against the real kernel: namespaces, veths, routes, teardown, crashes."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed.backends import emulated, state
from testbed.backends.emulated import EmulatedRig, RigSetupError, clean, down_rig
from testbed.backends.netns import list_netns
from testbed.errors import RigConflict, RigNotFound
from testbed.topology import parse_topology
from testbed.topology.generate import campus

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
_names = itertools.count()

CHAIN = """
name: chain
nodes:
  ue: {role: sensor}
  gnb: {role: router}
  upf: {role: router}
  edge: {role: edge}
  cloud: {role: cloud}
links:
  - endpoints: [ue, gnb]
  - endpoints: [gnb, upf]
  - endpoints: [upf, edge]
  - {endpoints: [edge, cloud], addresses: [10.99.0.1/30, 10.99.0.2/30]}
"""


@pytest.fixture(autouse=True)
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TESTBED_RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


@pytest.fixture
def rig_name() -> str:
    """A rig name no other test (or developer) uses at the same time."""
    return f"t{os.getpid() % 100000}x{next(_names)}"


@pytest.fixture
def host_snapshot():
    """The host namespace's links and routes, to prove a rig never leaves anything there."""
    def take() -> tuple[list[str], list[str]]:
        links = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, check=True).stdout)
        routes = subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True, text=True, check=True)
        return sorted(link["ifname"] for link in links), sorted(routes.stdout.splitlines())
    return take


def ours(rig: str) -> list[str]:
    return [name for name in list_netns() if name.startswith(f"tb-{rig}-")]


@pytest.fixture
def rigs(rig_name: str):
    """Bring rigs up by name; whatever a test leaves is removed afterwards."""
    made: list[str] = []

    def up(text: str, name: str | None = None) -> EmulatedRig:
        name = name or rig_name
        made.append(name)
        return EmulatedRig.up(parse_topology(text, "test.yaml"), name)

    yield up
    for name in made:
        if ours(name):
            clean(name)


def ping(rig: EmulatedRig, node: str, address: str) -> subprocess.CompletedProcess[str]:
    return rig.run(node, ["ping", "-c", "1", "-W", "2", address])


def test_up_builds_a_multi_hop_rig_that_pings_end_to_end(rigs) -> None:
    rig = rigs(CHAIN)
    result = ping(rig, "ue", "10.99.0.2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ttl=61" in result.stdout  # three routers forwarded it: gnb, upf, edge
    back = ping(rig, "cloud", rig.node("ue")["addresses"][0].split("/")[0])
    assert back.returncode == 0, back.stdout


def test_each_node_has_exactly_the_planned_addresses_and_routes(rigs) -> None:
    rig = rigs(CHAIN)
    for node in rig.state["nodes"]:
        shown = json.loads(rig.run(node["name"], ["ip", "-j", "-4", "address", "show"], check=True).stdout)
        addresses = sorted(f"{a['local']}/{a['prefixlen']}" for link in shown for a in link["addr_info"]
                           if link["ifname"] != "lo")
        assert addresses == sorted(node["addresses"])
        routes = json.loads(rig.run(node["name"], ["ip", "-j", "route", "show", "proto", "static"], check=True).stdout)
        assert sorted((r["dst"], r["gateway"], r["dev"]) for r in routes) == sorted(
            (r["dst"], r["via"], r["dev"]) for r in node["routes"])


def test_every_end_holds_its_peer_as_a_permanent_neighbour_with_the_peer_s_mac(rigs) -> None:
    rig = rigs(CHAIN)
    macs = {}
    for node in rig.state["nodes"]:
        for link in json.loads(rig.run(node["name"], ["ip", "-j", "link", "show"], check=True).stdout):
            macs[(node["name"], link["ifname"])] = link["address"]
    for node in rig.state["nodes"]:
        shown = json.loads(rig.run(node["name"], ["ip", "-j", "-4", "neigh", "show"], check=True).stdout)
        held = {(n["dst"], n["dev"], n["lladdr"]) for n in shown if "PERMANENT" in n["state"]}
        for iface in node["interfaces"]:
            assert macs[(node["name"], iface["name"])] == iface["mac"]
            peer_node = next(n for n in rig.state["nodes"] if any(
                i["address"].split("/")[0] == iface["peer"] for i in n["interfaces"]))
            peer_iface = next(i for i in peer_node["interfaces"] if i["address"].split("/")[0] == iface["peer"])
            assert macs[(peer_node["name"], peer_iface["name"])] == iface["peer_mac"]
            assert (iface["peer"], iface["name"], iface["peer_mac"]) in held, (node["name"], shown)
    # so the very first packet across the rig needs no address resolution
    first = ping(rig, "ue", "10.99.0.2")
    assert first.returncode == 0, first.stdout


def test_forwarding_false_really_cuts_the_path(rigs) -> None:
    rig = rigs(CHAIN.replace("upf: {role: router}", "upf: {role: router, forwarding: false}"))
    assert ping(rig, "ue", "10.99.0.2").returncode != 0
    assert ping(rig, "gnb", rig.node("upf")["addresses"][0].split("/")[0]).returncode == 0


def test_down_leaves_no_namespace_link_or_route_of_ours(rigs, rig_name, host_snapshot, run_dir) -> None:
    before = host_snapshot()
    rig = rigs(CHAIN)
    assert len(ours(rig_name)) == 5
    assert host_snapshot() == before  # nothing of a rig is ever in the host namespace
    report = rig.down()
    assert sorted(report.namespaces) == sorted(n["namespace"] for n in rig.state["nodes"])
    assert ours(rig_name) == []
    assert host_snapshot() == before
    assert not (run_dir / "rigs" / rig_name).exists()


def test_two_rigs_with_different_names_are_up_at_once(rigs, rig_name) -> None:
    first = rigs(CHAIN, rig_name + "a")
    second = rigs(CHAIN, rig_name + "b")
    assert ping(first, "ue", "10.99.0.2").returncode == 0
    assert ping(second, "ue", "10.99.0.2").returncode == 0
    first.down()
    assert ours(rig_name + "a") == []
    assert len(ours(rig_name + "b")) == 5
    assert ping(second, "ue", "10.99.0.2").returncode == 0


def test_up_refuses_a_rig_that_is_already_up(rigs) -> None:
    rig = rigs(CHAIN)
    with pytest.raises(RigConflict, match="already up"):
        rigs(CHAIN)
    assert ping(rig, "ue", "10.99.0.2").returncode == 0


def test_up_refuses_when_a_foreign_namespace_has_one_of_its_names(rigs, rig_name) -> None:
    foreign = f"tb-{rig_name}-edge"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        with pytest.raises(RigConflict, match=foreign):
            rigs(CHAIN)
        assert ours(rig_name) == [foreign]  # nothing created, the foreign one kept
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)


def test_clean_never_touches_an_untagged_namespace_named_like_ours(rig_name) -> None:
    foreign = f"tb-{rig_name}-notours"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        report = clean(rig_name)
        assert foreign in list_netns()
        assert foreign in report.untouched
        report = clean(rig_name, dry_run=True)
        assert report.removed == []
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)


def test_clean_finds_a_rig_whose_run_directory_is_gone(rigs, rig_name, run_dir) -> None:
    rigs(CHAIN)
    shutil.rmtree(run_dir)
    with pytest.raises(RigNotFound, match="clean"):
        down_rig(rig_name)
    preview = clean(rig_name, dry_run=True)
    assert len(ours(rig_name)) == 5
    assert sorted(preview.removed[0].namespaces) == sorted(ours(rig_name))
    clean(rig_name)
    assert ours(rig_name) == []


def test_clean_of_one_rig_keeps_the_other(rigs, rig_name) -> None:
    rigs(CHAIN, rig_name + "a")
    keep = rigs(CHAIN, rig_name + "b")
    clean(rig_name + "a")
    assert ours(rig_name + "a") == []
    assert ping(keep, "ue", "10.99.0.2").returncode == 0


def test_down_stops_processes_running_in_the_nodes(rigs) -> None:
    rig = rigs(CHAIN)
    sleeper = rig.popen("edge", ["sleep", "300"])
    report = rig.down()
    assert sleeper.wait(timeout=5) == -signal.SIGTERM
    assert sleeper.pid in report.processes


def test_a_kernel_refusal_rolls_back_everything(rigs, rig_name, run_dir, monkeypatch) -> None:
    real_plan = emulated.plan_rig

    def plan_with_unreachable_gateway(topology, rig=None):
        import dataclasses
        import ipaddress

        from testbed.topology.routing import Route

        plan = real_plan(topology, rig)
        gnb = plan.namespace("gnb")
        bad = Route(ipaddress.IPv4Network("192.0.2.0/24"), ipaddress.IPv4Address("203.0.113.1"), gnb.routes[0].dev)
        namespaces = tuple(dataclasses.replace(ns, routes=ns.routes + (bad,)) if ns.node == "gnb" else ns
                           for ns in plan.namespaces)
        return dataclasses.replace(plan, namespaces=namespaces)

    monkeypatch.setattr(emulated, "plan_rig", plan_with_unreachable_gateway)
    with pytest.raises(RigSetupError) as failure:
        rigs(CHAIN)
    message = str(failure.value)
    assert "node gnb: add route 192.0.2.0/24 via 203.0.113.1" in message
    assert "unreachable" in message.lower()
    assert ours(rig_name) == []
    assert state.known_rigs() == []


def test_sigkill_in_the_middle_of_up_then_down_removes_everything(rig_name, run_dir, host_snapshot, tmp_path) -> None:
    before = host_snapshot()
    topology = tmp_path / "big.yaml"
    topology.write_text(campus(400), encoding="utf-8")
    journal = run_dir / "rigs" / rig_name / "journal.tsv"
    env = dict(os.environ, TESTBED_RUN_DIR=str(run_dir))
    proc = subprocess.Popen([sys.executable, "-m", "testbed", "up", "--rig", rig_name, str(topology)],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_text().count('created\t') >= 3:
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        assert not (run_dir / "rigs" / rig_name / "state.json").exists(), "up finished before the kill"
        assert ours(rig_name), "the kill came before any namespace existed"
        with pytest.raises(RigConflict, match="half-built"):
            EmulatedRig.up(parse_topology(topology.read_text(), str(topology)), rig_name)
        report = down_rig(rig_name)
        assert report.namespaces
        assert ours(rig_name) == []
        assert host_snapshot() == before
    finally:
        if proc.poll() is None:
            proc.kill()
        if ours(rig_name):
            clean(rig_name)


def test_sigkill_in_the_middle_of_up_and_lost_run_directory_clean_removes_everything(
        rig_name, run_dir, tmp_path) -> None:
    topology = tmp_path / "big.yaml"
    topology.write_text(campus(400), encoding="utf-8")
    journal = run_dir / "rigs" / rig_name / "journal.tsv"
    env = dict(os.environ, TESTBED_RUN_DIR=str(run_dir))
    proc = subprocess.Popen([sys.executable, "-m", "testbed", "up", "--rig", rig_name, str(topology)],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not (journal.exists() and journal.read_text().count('created\t') >= 10):
            assert proc.poll() is None, "up ended before it could be killed"
            time.sleep(0.001)
        proc.kill()
        proc.wait(timeout=10)
        assert ours(rig_name)
        shutil.rmtree(run_dir)
        clean(rig_name)
        assert ours(rig_name) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        if ours(rig_name):
            clean(rig_name)


def test_operations_on_unknown_rigs_and_nodes_say_what_exists(rigs, rig_name) -> None:
    with pytest.raises(RigNotFound, match="no rig is up"):
        EmulatedRig.attach("nosuch")
    rig = rigs(CHAIN)
    with pytest.raises(RigNotFound, match="its nodes: ue, gnb, upf, edge, cloud"):
        rig.run("nosuch", ["true"])
    with pytest.raises(TypeError, match="shell string"):
        rig.popen("ue", "echo hi")  # type: ignore[arg-type]


def test_clean_removes_a_tagged_name_left_by_a_crash_before_the_mount(rig_name) -> None:
    from testbed.backends.netns import _make_tagged_placeholder, netns_path
    from testbed.backends.plan import ownership_tag

    mine = f"tb-{rig_name}-edge"
    _make_tagged_placeholder(netns_path(mine), ownership_tag(rig_name, "edge", "feedbeef"))
    foreign = f"tb-{rig_name}-other"
    Path(netns_path(foreign)).touch()
    try:
        report = clean(rig_name)
        assert mine not in list_netns()
        assert [r.namespaces for r in report.removed] == [[mine]]
        assert foreign in list_netns() and foreign in report.untouched
    finally:
        for name in (mine, foreign):
            Path(netns_path(name)).unlink(missing_ok=True)


def test_a_shaped_topology_on_a_kernel_without_netem_is_refused_naming_testbed_vm(rig_name) -> None:
    from testbed.errors import HostUnsuitable
    from testbed.host import kernel_supports_netem

    if kernel_supports_netem():
        pytest.skip("this kernel has netem: nothing to refuse")
    shaped = CHAIN.replace("  - endpoints: [ue, gnb]", "  - {endpoints: [ue, gnb], profile: lte-measured}")
    with pytest.raises(HostUnsuitable, match="testbed vm -- testbed up"):
        EmulatedRig.up(parse_topology(shaped, "shaped.yaml"), rig_name)
    assert ours(rig_name) == []
    rig = EmulatedRig.up(parse_topology(shaped, "shaped.yaml"), rig_name, shaping=False)
    try:
        assert rig.state["links"][0]["shaped"] is False
        assert ping(rig, "ue", "10.99.0.2").returncode == 0
    finally:
        rig.down()
