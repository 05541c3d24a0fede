"""The emulated modem byte for byte through its pty: framing, echo, chaining, CMEE, URCs, bad input, the CLI."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.modem import ControlClient, Emulator
from testbed.drivers.at.parsers import parse_serving_cell

ROOT = Path(__file__).resolve().parents[3]


class Raw:
    """The client end of the emulator's pty, opened by its symlink with no driver in between."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read_for(self, seconds: float = 0.15) -> bytes:
        """Everything that arrives until the port has been quiet for ``seconds``."""
        out = b""
        while select.select([self.fd], [], [], seconds)[0]:
            out += os.read(self.fd, 65536)
        return out

    def ask(self, line: bytes, quiet: float = 0.1) -> bytes:
        self.send(line + b"\r")
        return self.read_for(quiet)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(link=tmp_path / "at", control=tmp_path / "control", attach_delay=0, boot_delay=0.05) as e:
        yield e


@pytest.fixture
def raw(emu: Emulator) -> Iterator[Raw]:
    port = Raw(emu.pty.path)
    yield port
    os.close(port.fd)


def test_stable_link_points_at_the_pty(emu: Emulator) -> None:
    assert emu.pty.path.is_symlink() and os.readlink(emu.pty.path).startswith("/dev/pts/")


def test_exact_framing_with_echo_then_without(raw: Raw) -> None:
    assert raw.ask(b"AT+CSQ") == b"AT+CSQ\r\r\n+CSQ: 99,99\r\n\r\nOK\r\n"
    assert raw.ask(b"ATE0") == b"ATE0\r\r\nOK\r\n"
    assert raw.ask(b"ATI") == b"\r\nQuectel\r\nRM520N-GL\r\nRevision: RM520NGLAAR03A03M4G\r\n\r\nOK\r\n"
    assert raw.ask(b"at") == b"\r\nOK\r\n"
    assert raw.ask(b"ATE1") == b"\r\nOK\r\n"  # echo happens as bytes arrive: ATE1's own line is not echoed
    assert raw.ask(b"AT") == b"AT\r\r\nOK\r\n"


def test_chained_commands_stop_at_the_first_error_without_ok(raw: Raw) -> None:
    raw.ask(b"ATE0")
    assert raw.ask(b"AT+CFUN?;+CGMM") == b"\r\n+CFUN: 1\r\nRM520N-GL\r\n\r\nOK\r\n"
    assert raw.ask(b"AT+CFUN?;+NOSUCH;+CSQ") == b"\r\n+CFUN: 1\r\n\r\nERROR\r\n"


def test_cmee_levels_and_proprietary_commands_stay_plain(raw: Raw, emu: Emulator) -> None:
    raw.ask(b"ATE0")
    emu.radio.set_sim(False)
    raw.read_for()
    assert raw.ask(b"AT+CPIN?") == b"\r\n+CME ERROR: 10\r\n"
    assert raw.ask(b"AT+CMEE=2") == b"\r\nOK\r\n"
    assert raw.ask(b"AT+CPIN?") == b"\r\n+CME ERROR: SIM not inserted\r\n"
    assert raw.ask(b'AT+QNWPREFCFG="mode_pref",GSM') == b"\r\nERROR\r\n"
    assert raw.ask(b'AT+QENG="nonsense"') == b"\r\nERROR\r\n"
    assert raw.ask(b"AT+CMEE=0") == b"\r\nOK\r\n"
    assert raw.ask(b"AT+CPIN?") == b"\r\nERROR\r\n"
    assert raw.ask(b"AT+CMEE=7") == b"\r\nERROR\r\n"


def test_unknown_commands_and_syntax_errors_answer_error(raw: Raw) -> None:
    raw.ask(b"ATE0")
    for line in (b"AT+NOSUCH", b"AT+NOSUCH?", b"ATQ9", b"AT+CFUN=9", b'AT+CGDCONT=1,"IP', b"AT;;+CSQ", b"AT+"):
        assert raw.ask(line) == b"\r\nERROR\r\n", line


def test_bad_input_never_stops_the_firmware(raw: Raw) -> None:
    raw.ask(b"ATE0")
    raw.send(bytes(range(256)).replace(b"\r", b"").replace(b"AT", b"") + b"\r")  # no AT: silently ignored
    assert raw.read_for() == b""
    assert raw.ask(b"\xff\xfe garbage AT+CSQ") == b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n"  # bytes before AT dropped
    assert raw.ask(b"A" * 5000) == b"\r\nERROR\r\n"  # overlong line
    raw.send(b"AT+C")
    time.sleep(0.05)
    raw.send(b"SQ\n\r")  # a half line, completed later; LF ignored
    assert raw.read_for() == b"\r\n+CSQ: 99,99\r\n\r\nOK\r\n"


def test_random_bytes_fuzz_then_the_port_still_answers(raw: Raw, emu: Emulator) -> None:
    rng = random.Random(2026)
    alphabet = b'AT+at;=?",\r\n0123456789CFUNQENGCSQ\xff\x00'
    for _ in range(300):
        raw.send(bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 80))))
    raw.send(b"\r")
    raw.read_for(0.3)
    raw.send(b"ATE0\r")
    raw.read_for()
    assert raw.ask(b"AT+CGMM") == b"\r\nRM520N-GL\r\n\r\nOK\r\n"
    emu.radio.set_sim(True)  # whatever the fuzz changed, the radio still takes scenario steps


def test_all_four_qeng_layouts_and_limsrv_from_the_emulator(raw: Raw, emu: Emulator) -> None:
    raw.ask(b"ATE0")

    def qeng() -> list[str]:
        text = raw.ask(b'AT+QENG="servingcell"').decode()
        lines = [x for x in text.split("\r\n") if x]
        assert lines[-1] == "OK"
        return lines[:-1]

    sa = qeng()
    assert len(sa) == 1 and sa[0].startswith('+QENG: "servingcell","CONNECT","NR5G-SA","TDD",001,01,9013B004,299,')
    assert len(sa[0].split(":", 1)[1].split(",")) == 17
    emu.radio.set_offers(["NSA", "LTE"])
    nsa = qeng()
    assert nsa[0] == '+QENG: "servingcell","CONNECT"' and nsa[1].startswith('+QENG: "LTE",')
    assert len(nsa[2].split(",")) == 11
    emu.radio.set_offers(["LTE"])
    lte = qeng()
    assert lte[0].startswith('+QENG: "servingcell","CONNECT","LTE","FDD",')
    emu.radio.set_limited(True)
    assert qeng()[0].startswith('+QENG: "servingcell","LIMSRV","LTE"')
    emu.radio.set_offers([])
    assert qeng() == ['+QENG: "servingcell","SEARCH"']
    for layout in (sa, nsa, lte):
        parse_serving_cell(layout)


def test_reboot_sends_the_boot_urcs_and_restores_defaults(raw: Raw) -> None:
    raw.ask(b"ATE0")
    assert raw.ask(b"AT+CFUN=1,1", quiet=0.3) == (
        b"\r\nOK\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n"
        b"\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n")
    assert raw.ask(b"AT") == b"AT\r\r\nOK\r\n"  # echo is back on after the reset


def test_power_down_then_silence_until_power_on(raw: Raw, emu: Emulator) -> None:
    raw.ask(b"ATE0")
    assert raw.ask(b"AT+QPOWD") == b"\r\nOK\r\n\r\nPOWERED DOWN\r\n"
    assert raw.ask(b"AT") == b""
    assert emu.control is not None
    with ControlClient(emu.control.path) as control:
        control.call("power_on")
    assert raw.read_for(0.3).startswith(b"\r\nRDY\r\n")


def test_registration_and_pdn_urcs_follow_the_settings(raw: Raw, emu: Emulator) -> None:
    assert raw.ask(b"ATE0;+CEREG=1;+C5GREG=2;+CGEREP=2,1") == b"ATE0;+CEREG=1;+C5GREG=2;+CGEREP=2,1\r\r\nOK\r\n"
    emu.radio.handover("lte-only")
    assert raw.read_for() == b"\r\n+CEREG: 1\r\n\r\n+C5GREG: 0\r\n"
    emu.radio.set_offers([])
    assert raw.read_for() == b"\r\n+CGEV: PDN DEACT 1\r\n\r\n+CEREG: 2\r\n\r\n+C5GREG: 2\r\n"


def test_usbnet_qindcfg_and_band_settings_round_trip(raw: Raw) -> None:
    raw.ask(b"ATE0")
    assert raw.ask(b'AT+QCFG="usbnet",2') == b"\r\nOK\r\n"
    assert raw.ask(b'AT+QCFG="usbnet"') == b'\r\n+QCFG: "usbnet",2\r\n\r\nOK\r\n'
    assert raw.ask(b'AT+QINDCFG="csq",1,1;+QINDCFG="csq"') == b'\r\n+QINDCFG: "csq",1\r\n\r\nOK\r\n'
    assert raw.ask(b'AT+QNWPREFCFG="nr5g_disable_mode"') == b'\r\n+QNWPREFCFG: "nr5g_disable_mode",0\r\n\r\nOK\r\n'
    assert raw.ask(b'AT+QNWPREFCFG="mode_pref",LTE:NR5G;+QNWPREFCFG="mode_pref"') == (
        b'\r\n+QNWPREFCFG: "mode_pref",LTE:NR5G\r\n\r\nOK\r\n')


def test_command_line_entry_point_prints_its_endpoints_and_stops_on_sigterm(tmp_path: Path) -> None:
    link, control = tmp_path / "m0" / "at", tmp_path / "m0" / "control"
    proc = subprocess.Popen([sys.executable, "-m", "devices.modem", "--link", str(link), "--control", str(control),
                             "--rfc2217", "127.0.0.1:0", "--attach-delay", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(4)]
        assert lines[0].startswith(f"at: {link} -> /dev/pts/") and lines[1].startswith("rfc2217://") is False
        assert lines[1].startswith("rfc2217: rfc2217://127.0.0.1:") and lines[2] == f"control: {control}"
        assert lines[3] == "ready"
        port = Raw(link)
        assert port.ask(b"AT") == b"AT\r\r\nOK\r\n"
        os.close(port.fd)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    assert not link.exists() and not control.exists()
