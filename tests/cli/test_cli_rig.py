"""CLI behaviour against real emulated rigs: up, status, exec, down (root only).

Every rig has a name unique to this pytest process and is taken down by its fixture. Tests that
only look at a rig or run commands in it share one ward rig per module (``ward``); tests that
change a rig bring up their own (``make_rig``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest
from cli_support import TIMEOUT, WARD, Cli, link_names, netns_names, rig_namespaces, unique_rig_name, ward_topology

pytestmark = pytest.mark.root


def address_of(state: dict, node: str) -> str:
    entry = next(n for n in state["nodes"] if n["name"] == node)
    return entry["addresses"][0].split("/")[0]


# --- up and status -------------------------------------------------------------------------


def test_up_reports_node_and_link_counts_and_how_to_reach_the_rig(ward) -> None:
    assert re.match(rf"rig '{ward.name}' is up: 10 nodes, 6 links in \d+ ms\n", ward.up_output), ward.up_output
    assert f"testbed down --rig {ward.name}" in ward.up_output


def test_up_creates_one_namespace_per_node(ward) -> None:
    assert rig_namespaces(ward.name) == {f"tb-{ward.name}-{node}" for node in ward_topology()["nodes"]}


def test_status_json_lists_every_ward_node_live_and_all_six_links(ward) -> None:
    topo = ward_topology()
    result = ward.cli("status", "--rig", ward.name, "--json")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["rig"] == ward.name
    assert [n["name"] for n in state["nodes"]] == list(topo["nodes"])
    for node in state["nodes"]:
        assert node["role"] == topo["nodes"][node["name"]]["role"]
        assert node["namespace"] == f"tb-{ward.name}-{node['name']}"
        assert isinstance(node["addresses"], list)
        assert all(re.fullmatch(r"\d+\.\d+\.\d+\.\d+/\d+", a) for a in node["addresses"]), node
        assert node["live"] is True, node["name"]
    by_name = {n["name"]: n for n in state["nodes"]}
    assert by_name["cloud"]["addresses"] == ["10.99.0.2/30"]  # explicit in ward.yaml
    assert by_name["m1"]["addresses"] == []  # a modem only carries a link ("via"); no interface of its own
    assert len(state["links"]) == 6
    assert [lk["name"] for lk in state["links"]] == link_names(topo)


def test_status_text_shows_all_nodes_live_and_each_link(ward) -> None:
    result = ward.cli("status", "--rig", ward.name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"rig {ward.name}  (emulated, ")
    assert "nodes: 10/10 live" in result.stdout
    assert "GONE" not in result.stdout
    for link in link_names(ward_topology()):
        assert re.search(rf"^  {link} ", result.stdout, re.M), link


def test_up_dry_run_plans_exactly_the_addresses_the_real_rig_has(ward) -> None:
    dry = ward.cli("up", "--dry-run", "--rig", ward.name, WARD)
    assert dry.returncode == 0, dry.stderr
    planned: dict[str, list[str]] = {}
    current = None
    for line in dry.stdout.splitlines():
        if line.startswith("# ip -n "):
            current = planned.setdefault(line.split()[3], [])
        elif line.startswith("address add ") and current is not None:
            current.append(line.split()[2])
    state = ward.cli.status_json(ward.name)
    assert planned == {n["namespace"]: n["addresses"] for n in state["nodes"]}


def test_up_of_a_rig_that_is_already_up_exits_6_and_leaves_it_intact(cli: Cli, make_rig) -> None:
    rig = make_rig()
    before = cli.status_json(rig)
    again = cli("up", "--no-shaping", "--rig", rig, WARD)
    assert again.returncode == 6, (again.stdout, again.stderr)
    assert "already up" in again.stderr
    after = cli.status_json(rig)
    assert after["run_id"] == before["run_id"]
    assert [(n["namespace"], n["inode"], n["live"]) for n in after["nodes"]] == \
           [(n["namespace"], n["inode"], True) for n in before["nodes"]]
    assert len(rig_namespaces(rig)) == 10


# --- exec ----------------------------------------------------------------------------------


def test_exec_ping_from_sensor_reaches_cloud_over_several_hops(ward) -> None:
    cloud = address_of(ward.cli.status_json(ward.name), "cloud")
    result = ward.cli("exec", "--rig", ward.name, "ecg1", "--", "ping", "-c", "1", "-W", "2", cloud)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 received" in result.stdout
    assert re.search(r"ttl=6[0-3]\b", result.stdout), "expected several router hops (ttl < 64)"


def test_exec_returns_the_command_exit_code(ward) -> None:
    result = ward.cli("exec", "--rig", ward.name, "ecg1", "--", "sh", "-c", "exit 7")
    assert result.returncode == 7


def test_exec_of_missing_binary_exits_127_with_a_message(ward) -> None:
    result = ward.cli("exec", "--rig", ward.name, "ecg1", "--", "no-such-binary-xyz")
    assert result.returncode == 127
    assert "no-such-binary-xyz" in result.stderr and "not found" in result.stderr


def test_exec_of_non_executable_file_exits_126(ward) -> None:
    result = ward.cli("exec", "--rig", ward.name, "ecg1", "--", "/etc/hostname")
    assert result.returncode == 126, result.stderr
    assert "cannot run" in result.stderr


def test_exec_of_unknown_node_exits_5_naming_the_node(ward) -> None:
    result = ward.cli("exec", "--rig", ward.name, "nosuchnode", "--", "true")
    assert result.returncode == 5
    assert "'nosuchnode'" in result.stderr
    assert "ecg1" in result.stderr  # lists the nodes there are


def test_exec_in_unknown_rig_exits_5(ward) -> None:
    result = ward.cli("exec", "--rig", "nosuchrig", "ecg1", "--", "true")
    assert result.returncode == 5
    assert "'nosuchrig'" in result.stderr


def test_exec_sees_the_node_interfaces_in_sysfs(ward) -> None:
    state = ward.cli.status_json(ward.name)
    gnb = next(n for n in state["nodes"] if n["name"] == "gnb")
    ifnames = {i["name"] for i in gnb["interfaces"]}
    listing = ward.cli("exec", "--rig", ward.name, "gnb", "--", "ls", "/sys/class/net")
    assert listing.returncode == 0, listing.stderr
    assert set(listing.stdout.split()) == ifnames | {"lo"}
    ifname = "ecg1"
    mac = ward.cli("exec", "--rig", ward.name, "gnb", "--", "cat", f"/sys/class/net/{ifname}/address")
    assert mac.returncode == 0, mac.stderr
    link = ward.cli("exec", "--rig", ward.name, "gnb", "--", "ip", "-o", "link", "show", "dev", ifname)
    assert link.returncode == 0, link.stderr
    assert f"link/ether {mac.stdout.strip()} " in link.stdout


def test_exec_runs_in_the_node_namespace_with_its_addresses(ward) -> None:
    result = ward.cli("exec", "--rig", ward.name, "cloud", "--", "ip", "-o", "-4", "address", "show")
    assert result.returncode == 0, result.stderr
    assert "10.99.0.2/30" in result.stdout
    assert "10.20.0." not in result.stdout


# --- choosing a rig ------------------------------------------------------------------------


def test_status_with_two_rigs_and_no_rig_option_exits_2_listing_both(cli: Cli, make_rig) -> None:
    first, second = make_rig(), make_rig()
    ambiguous = cli("status")
    assert ambiguous.returncode == 2
    assert first in ambiguous.stderr and second in ambiguous.stderr
    assert "--rig" in ambiguous.stderr
    chosen = cli("status", "--rig", second)
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.startswith(f"rig {second} ")
    exec_ambiguous = cli("exec", "ecg1", "--", "true")
    assert exec_ambiguous.returncode == 2


def test_testbed_rig_env_selects_the_rig(cli: Cli, make_rig) -> None:
    first, second = make_rig(), make_rig()
    for rig in (first, second):
        status = cli("status", "--json", env={"TESTBED_RIG": rig})
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["rig"] == rig
    identified = cli("exec", "ecg1", "--", "ip", "netns", "identify", env={"TESTBED_RIG": first})
    assert identified.returncode == 0, identified.stderr
    assert identified.stdout.strip() == f"tb-{first}-ecg1"


def test_status_picks_the_only_rig_without_rig_option(cli: Cli, make_rig) -> None:
    rig = make_rig()
    result = cli("status", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rig"] == rig


# --- down ----------------------------------------------------------------------------------


def test_down_removes_every_namespace_then_status_exits_5(cli: Cli) -> None:
    rig = unique_rig_name()
    try:
        up = cli("up", "--no-shaping", "--no-modems", "--rig", rig, WARD)
        assert up.returncode == 0, up.stderr
        assert len(rig_namespaces(rig)) == 10
        down = cli("down", "--rig", rig)
        assert down.returncode == 0, down.stderr
        assert down.stdout.strip() == f"rig {rig!r} is down: removed 10 namespaces"
        assert rig_namespaces(rig) == set()
        assert not (cli.run_dir / "rigs" / rig).exists()
        status = cli("status", "--rig", rig)
        assert status.returncode == 5
        assert f"'{rig}'" in status.stderr
    finally:
        if rig_namespaces(rig):
            cli("down", "--rig", rig)
            cli("clean", "--rig", rig)


def test_down_stops_processes_running_in_the_rig(cli: Cli, make_rig) -> None:
    rig = make_rig()
    sleeper = subprocess.Popen([sys.executable, "-m", "testbed", "exec", "--rig", rig, "edge", "--", "sleep", "60"],
                               env=cli.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # exec replaces itself with sleep inside the namespace
            pids = subprocess.run(["ip", "netns", "pids", f"tb-{rig}-edge"], capture_output=True, text=True,
                                  timeout=TIMEOUT).stdout.split()
            if str(sleeper.pid) in pids:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the exec'd process never appeared in the node's namespace")
        down = cli("down", "--rig", rig)
        assert down.returncode == 0, down.stderr
        assert "stopped 1 processes" in down.stdout
        assert sleeper.wait(timeout=10) != 0
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_status_and_exec_notice_a_node_whose_namespace_was_removed(cli: Cli, make_rig) -> None:
    rig = make_rig()
    subprocess.run(["ip", "netns", "delete", f"tb-{rig}-m2"], check=True, timeout=TIMEOUT)
    state = cli.status_json(rig)
    assert {n["name"]: n["live"] for n in state["nodes"]}["m2"] is False
    assert sum(n["live"] for n in state["nodes"]) == 9
    text = cli("status", "--rig", rig).stdout
    assert "nodes: 9/10 live" in text and re.search(r"^  m2 .*GONE$", text, re.M)
    gone = cli("exec", "--rig", rig, "m2", "--", "true")
    assert gone.returncode == 5
    assert "gone" in gone.stderr
    down = cli("down", "--rig", rig)
    assert down.returncode == 0, down.stderr
    assert "removed 9 namespaces" in down.stdout


def test_clean_dry_run_for_one_rig_lists_it_and_removes_nothing(cli: Cli, make_rig) -> None:
    rig = make_rig()
    result = cli("clean", "--rig", rig, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"rig {rig}: would remove 10 namespaces" in result.stdout
    assert len(rig_namespaces(rig)) == 10
    assert cli("status", "--rig", rig).returncode == 0


def test_down_of_unknown_rig_exits_5(cli: Cli) -> None:
    result = cli("down", "--rig", "nosuch")
    assert result.returncode == 5
    assert "'nosuch'" in result.stderr and "not up" in result.stderr


def test_down_with_no_rig_up_exits_5(cli: Cli) -> None:
    result = cli("down")
    assert result.returncode == 5
    assert "no rig is up" in result.stderr


def test_rig_brought_up_as_dotdot_is_refused_or_fully_removed_by_down(cli: Cli, make_rig, tmp_path) -> None:
    other = make_rig()
    # Node names unique to this process keep the '..' rig's namespaces (tb-..-<node>) unique on the host.
    uniq = f"{os.getpid() % 100000}{secrets.token_hex(2)}"
    a, b = f"a{uniq}", f"b{uniq}"
    topology = tmp_path / "dotdot.yaml"
    topology.write_text(f"name: dotdot\naddressing:\n  pool: 10.20.0.0/16\nnodes:\n  {a}: {{role: sensor}}\n"
                        f"  {b}: {{role: cloud}}\nlinks:\n  - {{endpoints: [{a}, {b}]}}\n", encoding="utf-8")
    namespaces = {f"tb-..-{a}", f"tb-..-{b}"}
    try:
        up = cli("up", "--rig", "..", topology)
        down = cli("down", "--rig", "..")
        left = namespaces & netns_names()
        assert not left, f"up exited {up.returncode}, down exited {down.returncode}: {down.stderr}; left {left}"
        status = cli("status", "--rig", other)
        assert status.returncode == 0, f"rig {other} was lost: {status.stderr}"
    finally:
        if namespaces & netns_names():
            cli("down", "--rig", "..")
        if namespaces & netns_names():
            cli("clean", "--rig", "..")
        assert not namespaces & netns_names()
