"""Modem radio state -> link shaping: the mapping, emulators for a rig's modem nodes, `testbed modem`,
and (marker ``netem``, in the VM) the coupler driving real netem while ping and AT+QENG watch."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from devices.modem import Emulator
from devices.modem.radio import Radio
from testbed.backends.emulated import EmulatedRig, clean
from testbed.coupling import (
    DEFAULT_MAPPING,
    LINK_DOWN,
    CouplingMap,
    ModemLinkCoupler,
    RadioView,
    find_emulator,
    modem_links,
    start_emulators,
)
from testbed.drivers.at import QuectelModem, Rat
from testbed.shaping import mismatches
from testbed.shaping.netem import effective
from testbed.topology import parse_topology
from testbed.topology.library import library_profiles
from testbed.topology.model import Topology
from testbed.topology.units import Percent, Rate

REPO = Path(__file__).resolve().parents[2]
_names = itertools.count()

# Two modems carry links, a third carries none (it gets no emulator).
TOPOLOGY = """
name: coupling
nodes:
  ue: {role: sensor}
  ue2: {role: sensor}
  m1: {role: modem}
  m2: {role: modem}
  spare: {role: modem}
  edge: {role: edge}
links:
  - {endpoints: [ue, edge], via: m1, addresses: [10.9.0.1/30, 10.9.0.2/30], profile: nsa-lowband-measured}
  - {endpoints: [ue2, edge], via: m2, addresses: [10.9.0.5/30, 10.9.0.6/30], profile: nsa-lowband-measured}
"""


def library(profile: str, direction: str):
    """A library profile's impairment, straight from profiles.yaml (not through the mapping)."""
    return Topology(name="t", profiles=library_profiles()).profile_impairment(profile, direction)


# --- the mapping (pure) ------------------------------------------------------------------------------

@pytest.mark.parametrize(("rat", "profile"), [("SA", "sa-lowband-2021"), ("NSA", "nsa-lowband-measured"),
                                              ("LTE", "lte-measured")])
def test_each_rat_maps_to_its_library_profile_at_good_sinr(rat: str, profile: str) -> None:
    shaping = DEFAULT_MAPPING.shaping(RadioView(rat, sinr=20, cell="site-a"))
    assert set(shaping) == {"up", "down"}
    for direction in ("up", "down"):
        assert shaping[direction] == library(profile, direction)
    assert shaping["up"] != shaping["down"]  # the profiles are asymmetric (rates)


def test_the_default_table_carries_the_measured_figures() -> None:
    lte = DEFAULT_MAPPING.shaping(RadioView("LTE", 18))
    assert (str(lte["up"].delay), str(lte["up"].rate), str(lte["down"].rate)) == ("9ms", "36mbit", "176mbit")
    nsa = DEFAULT_MAPPING.shaping(RadioView("NSA", 18))
    assert (str(nsa["up"].delay), str(nsa["down"].rate)) == ("7.5ms", "205mbit")
    sa = DEFAULT_MAPPING.shaping(RadioView("SA", 18))
    assert str(sa["down"].delay) == "21.5ms"


def test_no_service_is_the_link_down_whatever_the_signal() -> None:
    for sinr in (None, 30, -20):
        shaping = DEFAULT_MAPPING.shaping(RadioView(None, sinr))
        assert shaping == {"up": LINK_DOWN, "down": LINK_DOWN}
    assert LINK_DOWN.as_dict() == {"loss": "100%"}


def test_radio_states_without_service_map_to_link_down() -> None:
    radio = Radio(attach_delay=0)
    try:
        assert RadioView.from_state(radio.snapshot()).rat == "SA"
        radio.set_offers(["LTE"])
        assert DEFAULT_MAPPING.shaping(RadioView.from_state(radio.snapshot()))["up"] == library("lte-measured", "up")
        radio.set_offers([])  # coverage lost
        assert DEFAULT_MAPPING.shaping(RadioView.from_state(radio.snapshot()))["down"] == LINK_DOWN
        radio.set_offers(["SA", "NSA", "LTE"])
        radio.set_limited(True)  # camped, registration rejected: no bearer
        assert DEFAULT_MAPPING.shaping(RadioView.from_state(radio.snapshot()))["up"] == LINK_DOWN
        radio.set_limited(False)
        radio.set_sim(False)
        assert DEFAULT_MAPPING.shaping(RadioView.from_state(radio.snapshot()))["up"] == LINK_DOWN
    finally:
        radio.close()


@pytest.mark.parametrize("rat", ["SA", "NSA", "LTE"])
def test_sinr_degradation_is_monotonic_and_bounded(rat: str) -> None:
    previous = None
    for sinr in range(40, -21, -1):
        shaping = DEFAULT_MAPPING.shaping(RadioView(rat, sinr))
        for direction, imp in shaping.items():
            base = DEFAULT_MAPPING.profile_impairment(rat, direction)
            assert (imp.delay, imp.jitter) == (base.delay, base.jitter)  # only loss and rate move
            if previous is not None:
                assert imp.loss.value >= previous[direction].loss.value, (sinr, direction)
                assert imp.rate.bps <= previous[direction].rate.bps, (sinr, direction)
            if sinr >= 13:
                assert imp == base
            if sinr <= -5:
                assert imp.loss == Percent(base.loss.value + 10.0)
                assert imp.rate.bps == pytest.approx(base.rate.bps * 0.1, rel=0.01)
        previous = shaping
    mid = DEFAULT_MAPPING.shaping(RadioView(rat, 4))["down"]
    base = DEFAULT_MAPPING.profile_impairment(rat, "down")
    assert base.loss < mid.loss < Percent(base.loss.value + 10) and mid.rate < base.rate


def test_a_handover_blacks_out_the_new_state_and_keeps_the_rest() -> None:
    view = RadioView("NSA", 18, "site-b")
    for direction, imp in DEFAULT_MAPPING.blackout(view).items():
        assert imp.loss == Percent(100.0)
        assert imp.delay == DEFAULT_MAPPING.shaping(view)[direction].delay


def test_the_table_is_data_and_checked() -> None:
    custom = CouplingMap(profiles={"SA": "nr-embb-target", "NSA": "nr-embb-target", "LTE": "wifi"},
                         handover_blackout=0.1)
    assert custom.shaping(RadioView("SA", 20))["up"].delay == library("nr-embb-target", "up").delay
    with pytest.raises(ValueError, match="missing"):
        CouplingMap(profiles={"SA": "sa-lowband-2021"})
    with pytest.raises(ValueError, match="unknown"):
        CouplingMap(profiles={"SA": "no-such", "NSA": "wifi", "LTE": "wifi"})
    with pytest.raises(ValueError):
        RadioView("5G")


def test_what_at_qeng_shows_maps_to_what_the_control_state_does(tmp_path: Path) -> None:
    """The two views of one radio (AT and control channel) give the same shaping, state by state."""
    with Emulator(link=tmp_path / "at", control=None, attach_delay=0, boot_delay=0.05) as emu, \
            QuectelModem.open(str(emu.pty.path)) as modem:
        steps = [lambda: None, lambda: emu.radio.set_offers(["NSA", "LTE"]), lambda: emu.radio.set_offers(["LTE"]),
                 lambda: emu.radio.set_signal(sinr=-4), lambda: emu.radio.set_offers(["SA"]),
                 lambda: emu.radio.set_signal(sinr=6), lambda: emu.radio.set_offers([])]
        seen = []
        for step in steps:
            step()
            serving = modem.serving_cell()
            from_at = RadioView.from_serving_cell(serving)
            with emu.radio.lock:
                from_state = RadioView.from_state(emu.radio.snapshot())
            assert from_at.rat == from_state.rat
            assert DEFAULT_MAPPING.shaping(from_at) == DEFAULT_MAPPING.shaping(from_state), serving
            seen.append(serving.rat)
        assert seen == [Rat.SA, Rat.NSA, Rat.LTE, Rat.LTE, Rat.SA, Rat.SA, Rat.NONE]


# --- emulators for a rig's modem nodes, and `testbed modem` (root, no netem) --------------------------

@pytest.fixture
def run_dir(monkeypatch: pytest.MonkeyPatch):
    # Short on purpose: the control socket lives under it and a Unix socket path holds 107 bytes.
    path = tempfile.mkdtemp(prefix="tbc", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    monkeypatch.setenv("TESTBED_RUN_DIR", path)
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def rig(run_dir: Path):
    name = f"cp{os.getpid() % 100000}x{next(_names)}"
    try:
        yield EmulatedRig.up(parse_topology(TOPOLOGY, "coupling-test.yaml"), name, shaping=False)
    finally:
        clean(name)


def modem_cli(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TESTBED_RIG"} | {"TESTBED_RUN_DIR": str(run_dir)}
    return subprocess.run([sys.executable, "-m", "testbed.cli.modem", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.mark.root
def test_emulators_start_for_the_modem_nodes_that_carry_links_and_stop(rig: EmulatedRig) -> None:
    assert modem_links(rig.state) == {"m1": ["ue-edge"], "m2": ["ue2-edge"]}
    emulators = start_emulators(rig)
    try:
        assert sorted(e.node for e in emulators) == ["m1", "m2"]
        assert emulators.for_link("ue2-edge").node == "m2"
        for emu in emulators:
            assert emu.pty.is_symlink() and os.readlink(emu.pty).startswith("/dev/pts/")
            assert emu.control.is_socket()
            assert emu.directory.parent.parent.name == rig.name  # under the rig's run directory
            # the emulator runs inside its modem node's network namespace
            assert os.stat(f"/proc/{emu.process.pid}/ns/net").st_ino == rig.node(emu.node)["inode"]
            with emu.control_client() as ctl:
                assert ctl.call("state")["cell"]["name"] == "site-a"
            with QuectelModem.open(emu.url) as modem:
                assert modem.identity().model == "RM520N-GL"
            assert find_emulator(rig.name, emu.node).pid == emu.process.pid
        assert find_emulator(rig.name, "spare") is None
        # the two are separate radios: a handover on one does not move the other
        with emulators["m1"].control_client() as ctl:
            ctl.call("handover", cell="site-b")
        with emulators["m2"].control_client() as ctl:
            assert ctl.call("state")["cell"]["name"] == "site-a"
    finally:
        emulators.stop()
    for emu in emulators:
        assert emu.process.returncode is not None
        assert not emu.pty.exists() and not emu.pty.is_symlink()  # the emulator removed its link
        assert find_emulator(rig.name, emu.node) is None


@pytest.mark.root
def test_testbed_modem_answers_through_the_emulator_pty(rig: EmulatedRig, run_dir: Path) -> None:
    none_yet = modem_cli(run_dir, "--rig", rig.name, "m1", "ATI")
    assert none_yet.returncode == 5 and "no modem emulator is running" in none_yet.stderr, none_yet
    with start_emulators(rig, ["m1"]):
        ati = modem_cli(run_dir, "--rig", rig.name, "m1", "ATI")
        assert ati.returncode == 0, ati.stderr
        assert ati.stdout.splitlines() == ["Quectel", "RM520N-GL", "Revision: RM520NGLAAR03A03M4G", "OK"]
        qeng = modem_cli(run_dir, "--rig", rig.name, "m1", 'AT+QENG="servingcell"')
        assert qeng.returncode == 0 and '"NR5G-SA"' in qeng.stdout, qeng
        bad = modem_cli(run_dir, "--rig", rig.name, "m1", "AT+NOSUCH")
        assert bad.returncode == 7 and bad.stdout.splitlines()[-1] == "ERROR", bad
        cme = modem_cli(run_dir, "--rig", rig.name, "m1", "AT+CMEE=1;+CGPADDR=9")
        assert cme.returncode == 7 and cme.stdout.startswith("+CME ERROR"), cme
        other = modem_cli(run_dir, "--rig", rig.name, "m2", "ATI")  # m2 has no emulator running
        assert other.returncode == 5, other
        not_modem = modem_cli(run_dir, "--rig", rig.name, "edge", "ATI")
        assert not_modem.returncode == 5 and "not modem" in not_modem.stderr, not_modem
        usage = modem_cli(run_dir, "--rig", rig.name, "m1", "hello")
        assert usage.returncode == 2, usage
    gone = modem_cli(run_dir, "--rig", rig.name, "m1", "ATI")
    assert gone.returncode == 5, gone


# --- the coupler against real netem (in the VM) --------------------------------------------------------

BLACKOUT_S = 1.5


def ping(rig: EmulatedRig, count: int, interval: str = "0.05", wait: str = "1") -> dict:
    out = rig.run("ue", ["ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", wait, "10.9.0.2"],
                  timeout=120).stdout
    return parse_ping(out)


def parse_ping(out: str) -> dict:
    sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    rtt = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)", out)
    return {"sent": sent, "received": received, "avg": float(rtt.group(2)) if rtt else None}


def assert_link_does(rig: EmulatedRig, link: str, wanted: dict) -> None:
    got = rig.shaping(link)
    for direction in ("up", "down"):
        assert mismatches(effective(wanted[direction]), got[direction]) == [], (direction, got[direction])


def assert_at_agrees(modem: QuectelModem, rig: EmulatedRig, mapping: CouplingMap) -> RadioView:
    """What AT+QENG shows, put through the mapping, is what the kernel does to the link now."""
    view = RadioView.from_serving_cell(modem.serving_cell())
    assert_link_does(rig, "ue-edge", mapping.shaping(view))
    return view


@pytest.mark.root
@pytest.mark.netem
def test_the_link_follows_the_radio_through_fallback_handover_and_lost_coverage(rig: EmulatedRig) -> None:
    mapping = CouplingMap(handover_blackout=BLACKOUT_S)
    with start_emulators(rig, ["m1"]) as emulators:
        emu = emulators["m1"]
        coupler = ModemLinkCoupler(rig, "ue-edge", emu.control, mapping).start()
        try:
            with emu.control_client() as ctl, QuectelModem.open(emu.url) as modem:
                # attached on SA at site-a: the link is sa-lowband-2021
                coupler.wait_for(lambda c: c.view.rat == "SA")
                assert assert_at_agrees(modem, rig, mapping).rat == "SA"
                assert_link_does(rig, "ue-edge", {d: library("sa-lowband-2021", d) for d in ("up", "down")})
                sa = ping(rig, 10, "0.1")
                assert sa["received"] >= 9 and 35.0 <= sa["avg"] <= 75.0, sa  # 2 x 21.5 ms

                # LTE fallback: the read-back shaping becomes lte-measured's
                mark = len(coupler.changes)
                ctl.call("coverage", rats=["LTE"])
                coupler.wait_for(lambda c: c.view.rat == "LTE", since=mark)
                assert_link_does(rig, "ue-edge", {d: library("lte-measured", d) for d in ("up", "down")})
                assert modem.serving_cell().rat is Rat.LTE
                assert_at_agrees(modem, rig, mapping)
                lte = ping(rig, 10, "0.1")
                assert lte["received"] >= 9 and lte["avg"] < sa["avg"] - 10.0, (lte, sa)  # 18 ms vs 43 ms

                # back to SA, then a handover to site-b: a blackout ping sees, then recovery
                mark = len(coupler.changes)
                ctl.call("coverage", rats=["SA", "NSA", "LTE"])
                coupler.wait_for(lambda c: c.view.rat == "SA", since=mark)
                mark = len(coupler.changes)
                pinger = rig.popen("ue", ["ping", "-n", "-q", "-c", "100", "-i", "0.05", "-W", "1", "10.9.0.2"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(1.0)
                ctl.call("handover", cell="site-b")
                cut = coupler.wait_for(lambda c: c.reason == "handover-blackout", since=mark)
                back = coupler.wait_for(lambda c: c.reason == "handover-attach", since=mark, timeout=20)
                out, _ = pinger.communicate(timeout=60)
                seen = parse_ping(out)
                lost = seen["sent"] - seen["received"]
                assert BLACKOUT_S <= back.at - cut.at <= BLACKOUT_S + 1.0
                # 1.5 s at 20 pings/s is ~30 lost; the rest (~3.5 s) got through
                assert 15 <= lost <= 50 and seen["received"] >= 40, seen
                assert all(imp.loss == Percent(100.0) for imp in cut.shaping.values())
                view = assert_at_agrees(modem, rig, mapping)
                assert view.rat == "SA" and modem.serving_cell().nr.pci == 300  # site-b's NR cell
                assert ping(rig, 5, "0.1")["received"] >= 4

                # SINR at the cell edge: loss added, rate cut (the documented assumption)
                mark = len(coupler.changes)
                ctl.call("signal", sinr=-6)
                coupler.wait_for(lambda c: c.reason == "sinr" and c.view.sinr == -6, since=mark)
                degraded = rig.shaping("ue-edge")["down"]
                base = library("sa-lowband-2021", "down")
                assert degraded.loss == Percent(base.loss.value + 10.0)
                assert degraded.rate.bps == pytest.approx(Rate.parse("59mbit").bps * 0.1, rel=0.01)
                assert_at_agrees(modem, rig, mapping)
                mark = len(coupler.changes)
                ctl.call("signal", sinr=18)
                coupler.wait_for(lambda c: c.view.sinr == 18, since=mark)

                # coverage lost: loss 100 % both ways, ping gets nothing, AT shows SEARCH
                mark = len(coupler.changes)
                ctl.call("coverage", rats=[])
                coupler.wait_for(lambda c: c.view.rat is None, since=mark)
                assert_link_does(rig, "ue-edge", {"up": LINK_DOWN, "down": LINK_DOWN})
                assert modem.serving_cell().state == "SEARCH"
                assert assert_at_agrees(modem, rig, mapping).rat is None
                assert ping(rig, 3, "0.2")["received"] == 0

                # and back
                mark = len(coupler.changes)
                ctl.call("coverage", rats=["SA", "NSA", "LTE"])
                coupler.wait_for(lambda c: c.view.rat == "SA", since=mark)
                assert ping(rig, 5, "0.1")["received"] >= 4
        finally:
            changes = coupler.stop()
    assert [c.error for c in changes if c.error] == []
    assert all(a.at <= b.at for a, b in zip(changes, changes[1:], strict=False))
    reasons = [c.reason for c in changes]
    assert reasons[0] == "initial" and "rat" in reasons and "handover-blackout" in reasons and "coverage" in reasons
