"""The Quectel driver against the emulated modem through a real pty, and a radio scenario seen through it."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from devices.modem import ControlClient, ControlError, Emulator
from testbed.drivers.at import AtTimeout, QuectelModem, Rat, RegStat

T = TypeVar("T")


def eventually(read: Callable[[], T], ok: Callable[[T], bool], timeout: float = 3.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@pytest.fixture
def modem(emulator: Emulator) -> QuectelModem:
    with QuectelModem.open(str(emulator.pty.path)) as m:
        m.prepare()
        yield m


@pytest.fixture
def control(emulator: Emulator) -> ControlClient:
    assert emulator.control is not None
    with ControlClient(emulator.control.path) as c:
        yield c


def test_reads_on_a_fresh_sa_cell(modem: QuectelModem) -> None:
    assert modem.identity().model == "RM520N-GL"
    cell = modem.serving_cell()
    assert cell.rat is Rat.SA and cell.registered and cell.nr is not None and cell.nr.pci == 299
    signal = modem.signal()
    assert signal.sysmode == "NR5G" and signal.rsrp.best == -85 and signal.rsrp.ports[2] is None
    reg = modem.registration()
    assert reg.registered and reg.c5greg is not None and reg.c5greg.act == 11
    assert reg.cereg is not None and reg.cereg.stat is RegStat.NOT_REGISTERED
    assert modem.operator().act == 11 and modem.csq().rssi_dbm is None  # SA: +CSQ 99,99
    assert modem.pdp_address(1).ipv4 in ipaddress.ip_network("10.45.0.0/16")


def test_scenario_fade_handover_lte_fallback_loss_and_reattach(modem: QuectelModem, control: ControlClient) -> None:
    modem.at('AT+QINDCFG="act",1')
    sub = modem.subscribe()

    def seen(line: str) -> None:  # raises queue.Empty when the URC does not come
        sub.get(2, match=lambda u: u.line == line)

    control.call("fade", rsrp=-120, rsrq=-17, sinr=-5, seconds=0.2, steps=4)
    edge = eventually(modem.serving_cell, lambda c: c.nr is not None and c.nr.rsrp == -120)
    assert edge.nr is not None and (edge.nr.rsrp, edge.nr.rsrq, edge.nr.sinr) == (-120, -17, -5)

    control.call("handover", cell="site-b")
    cell = modem.serving_cell()
    assert cell.nr is not None and (cell.nr.pci, cell.nr.tac, cell.nr.cell_id) == (300, 0x690E10, 0x9013B005)
    seen('+C5GREG: 1,"690E10","9013B005",11')

    control.call("coverage", rats=["LTE"])
    cell = modem.serving_cell()
    assert cell.rat is Rat.LTE and cell.lte is not None and cell.lte.pci == 13
    assert modem.operator().act == 7 and modem.csq().rssi_dbm is not None
    seen('+CEREG: 1,"DE11","5F1EA16",7')
    seen('+QIND: "act","LTE"')

    control.call("coverage", rats=[])
    assert modem.serving_cell().rat is Rat.NONE and not modem.registration().registered
    seen("+CGEV: PDN DEACT 1")
    seen("+CEREG: 2")
    assert modem.pdp_address(1).ipv4 is None

    control.call("coverage", rats=["SA", "NSA", "LTE"])
    assert modem.serving_cell().rat is Rat.SA and modem.registration().registered
    seen("+CGEV: PDN ACT 1")
    assert modem.pdp_address(1).ipv4 is not None


def test_mode_preference_and_nr5g_disable_mode_pick_the_rat(modem: QuectelModem) -> None:
    modem.set_mode_pref("LTE")
    assert modem.mode_pref() == ("LTE",) and modem.serving_cell().rat is Rat.LTE
    modem.set_mode_pref(["LTE", "NR5G"])
    assert modem.serving_cell().rat is Rat.SA
    modem.set_nr5g_disable_mode(1)
    cell = modem.serving_cell()
    assert cell.rat is Rat.NSA and cell.nr is not None and cell.nr.scs_khz == 30 and cell.lte is not None
    assert modem.operator().act == 13
    modem.set_mode_pref("NR5G")
    assert modem.serving_cell().rat is Rat.NONE  # NR5G only with SA disabled: nothing to camp on
    with pytest.raises(ValueError):
        modem.set_mode_pref("5G")


def test_detach_and_attach(modem: QuectelModem) -> None:
    modem.detach()
    assert modem.serving_cell().state == "SEARCH" and not modem.registration().registered
    status = modem.attach(timeout=5)
    assert status.registered and modem.pdp_address(1).ipv4 is not None


def test_reboot_waits_for_rdy_and_settings_return_to_defaults(modem: QuectelModem) -> None:
    modem.reboot(timeout=5)
    assert modem.at("AT+CMEE?").lines == ("+CMEE: 1",) and modem.at("AT+CEREG?").lines[0].startswith("+CEREG: 0,")
    assert modem.attach(timeout=5).registered


def test_attach_times_out_without_coverage(modem: QuectelModem, control: ControlClient) -> None:
    control.call("coverage", rats=[])
    with pytest.raises(AtTimeout):
        modem.attach(timeout=0.3)


def test_pdp_define_activate_dual_stack(modem: QuectelModem) -> None:
    modem.define_pdp(2, "IPV4V6", "ims")
    modem.activate_pdp(2)
    address = modem.pdp_address(2)
    assert address.ipv4 is not None and address.ipv6 is not None
    modem.activate_pdp(2, active=False)
    assert modem.pdp_address(2) == type(address)(2)


def test_limited_service_and_control_errors(modem: QuectelModem, control: ControlClient) -> None:
    control.call("limited", on=True)
    cell = modem.serving_cell()
    assert cell.state == "LIMSRV" and not cell.registered and modem.registration().cereg.stat is RegStat.DENIED
    with pytest.raises(ControlError, match="unknown op"):
        control.call("teleport")
    with pytest.raises(ControlError, match="missing"):
        control.call("handover")
    with pytest.raises(ControlError, match="expected a cell"):
        control.call("handover", cell="mars")
    assert modem.at("AT").final == "OK"


def test_rm500q_dialect_nsa_line_has_nine_fields(tmp_path: Path) -> None:
    with Emulator(link=tmp_path / "at", dialect="RM500Q", attach_delay=0) as emu, \
            QuectelModem.open(str(emu.pty.path)) as modem:
        modem.set_nr5g_disable_mode(1)
        raw = modem.at('AT+QENG="servingcell"').lines
        assert len(raw[2].split(",")) == 9
        cell = modem.serving_cell()
        assert cell.rat is Rat.NSA and cell.nr is not None and cell.nr.band == 78 and cell.nr.scs_khz is None
        assert modem.identity().revision == "RM500QGLABR11A06M4G"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pyserial's own rfc2217 threading calls
def test_rfc2217_port_serves_the_same_radio(emulator: Emulator, tmp_path: Path) -> None:
    with Emulator(link=tmp_path / "at2", rfc2217=("127.0.0.1", 0), attach_delay=0) as emu:
        assert emu.rfc2217 is not None
        host, port = emu.rfc2217.address
        with QuectelModem.open(f"rfc2217://{host}:{port}") as remote, QuectelModem.open(str(emu.pty.path)) as local:
            remote.set_mode_pref("LTE")
            assert local.serving_cell().rat is Rat.LTE and remote.serving_cell().rat is Rat.LTE
            assert remote.identity().model == "RM520N-GL"
