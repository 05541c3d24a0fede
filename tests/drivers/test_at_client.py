"""The AT client on real ptys: echo, URCs between lines, errors, timeouts, garbage, and a 10,000-command stress run."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable

import pytest

from devices.modem import Emulator
from devices.modem.firmware import CHAOS_URCS
from testbed.drivers.at import AtClient, AtTimeout, CommandFailed, PortClosed, QuectelModem, Urc


def play(peer, script: Callable[[], None]) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=script, daemon=True)
    thread.start()
    return thread


def test_echo_on_and_off_give_the_same_lines(emulator: Emulator) -> None:
    with AtClient(str(emulator.pty.path)) as client:
        with_echo = client.command("AT+CSQ;+CGMM")
        client.command("ATE0")
        without = client.command("AT+CSQ;+CGMM")
    assert with_echo.lines == without.lines == ("+CSQ: 99,99", "RM520N-GL")


def test_urcs_between_the_lines_of_an_answer_arrive_as_half_lines(peer) -> None:  # type: ignore[no-untyped-def]
    def modem() -> None:
        line = peer.read_line()
        assert line == b'AT+QENG="servingcell"'
        peer.send(line + b"\r", b'\r\n+QENG: "servingcell","NOC', b'ONN"\r\n', b"\r\n+CEREG: 1\r\n",
                  b'+QENG: "LTE","FDD",460,01,5F1EA15,12,1650,3,5,5,DE10,-99,-12,-67,11,9,230,-\r',
                  b'\n\r\n+CGEV: PDN ACT 1\r\n+QENG:"NR5G-NSA",460,01,747,-71,13,-11,627264,78,12,1\r\n',
                  b'\r\n+QIND: "csq",20,99\r\n\r\nO', b"K\r\n", gap=0.005)

    with AtClient(peer.path) as client:
        sub = client.subscribe()
        thread = play(peer, modem)
        response = client.command('AT+QENG="servingcell"')
        thread.join()
        urcs = [sub.get(1).line for _ in range(3)]
    assert response.lines[0] == '+QENG: "servingcell","NOCONN"' and len(response.lines) == 3
    assert urcs == ["+CEREG: 1", "+CGEV: PDN ACT 1", '+QIND: "csq",20,99']


def test_registration_urc_during_a_registration_read_is_told_apart_by_shape(peer) -> None:  # type: ignore[no-untyped-def]
    def modem() -> None:
        peer.read_line()
        peer.send(b'\r\n+CEREG: 1,"DE10","5A29C0B",7\r\n\r\n+CEREG: 2,1,"DE10","5A29C0B",7\r\n\r\n+CEREG: 5\r\n'
                  b"\r\nOK\r\n")

    with AtClient(peer.path) as client:
        sub = client.subscribe("+CEREG")
        thread = play(peer, modem)
        response = client.command("AT+CEREG?")
        thread.join()
        assert response.lines == ('+CEREG: 2,1,"DE10","5A29C0B",7',)
        assert [u.line for u in sub.drain()] == ['+CEREG: 1,"DE10","5A29C0B",7', "+CEREG: 5"]


def test_cfun_urc_during_a_cfun_read_first_line_answers(peer) -> None:  # type: ignore[no-untyped-def]
    def modem() -> None:
        peer.read_line()
        peer.send(b"\r\n+CFUN: 4\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n")

    with AtClient(peer.path) as client:
        sub = client.subscribe()
        thread = play(peer, modem)
        response = client.command("AT+CFUN?")
        thread.join()
        assert response.lines == ("+CFUN: 4",)
        assert [u.line for u in sub.drain()] == ["+CFUN: 1", "+CPIN: READY"]


def test_cme_cms_and_plain_errors(emulator: Emulator) -> None:
    with AtClient(str(emulator.pty.path)) as client:
        with pytest.raises(CommandFailed) as numeric:
            client.command("AT+CGACT=1,9")
        assert numeric.value.code == 21 and numeric.value.cme
        client.command("AT+CMEE=2")
        with pytest.raises(CommandFailed) as verbose:
            client.command("AT+CGACT=1,9")
        assert verbose.value.code is None and verbose.value.text == "invalid index"
        with pytest.raises(CommandFailed) as plain:
            client.command("AT+NOSUCH")
        assert plain.value.final == "ERROR" and plain.value.code is None
        assert client.command("AT+NOSUCH", check=False).final == "ERROR"


def test_cms_error_is_final(peer) -> None:  # type: ignore[no-untyped-def]
    def modem() -> None:
        peer.read_line()
        peer.send(b"\r\n+CMS ERROR: 500\r\n")

    with AtClient(peer.path) as client:
        play(peer, modem)
        with pytest.raises(CommandFailed) as failed:
            client.command("AT+CMGS=1")
    assert failed.value.code == 500 and not failed.value.cme


def test_timeout_then_late_answer_is_not_taken_for_the_next_command(peer) -> None:  # type: ignore[no-untyped-def]
    with AtClient(peer.path) as client:
        def silent() -> None:
            peer.read_line()
            peer.send(b"\r\n+CSQ: 1")  # half a line, then nothing

        play(peer, silent)
        started = time.monotonic()
        with pytest.raises(AtTimeout) as timeout:
            client.command("AT+CSQ", timeout=0.2)
        assert 0.2 <= time.monotonic() - started < 1.0 and timeout.value.lines == ()
        peer.send(b"0,99\r\n\r\nOK\r\n")  # the late rest of the answer, while nothing is in flight
        time.sleep(0.1)

        def next_answer() -> None:
            peer.read_line()
            peer.send(b"\r\nOK\r\n")

        play(peer, next_answer)
        assert client.command("AT").lines == ()
        assert client.stats.stray_finals == 1


def test_garbage_overlong_and_binary_lines_never_break_the_reader(peer) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(4)
    garbage = bytes(rng.randrange(256) for _ in range(3000)).replace(b"\r", b"").replace(b"\n", b"")
    with AtClient(peer.path, max_line=1024) as client:
        sub = client.subscribe()
        peer.send(b"\r\n" + b"X" * 20000 + b"\r\n", b"\xff\xfe\x00\x80\r\n", garbage[:500] + b"\r\n")

        def modem() -> None:
            peer.read_line()
            peer.send(b"\r\n" + garbage + b"\r\n\r\n+CSQ: 5,99\r\n\r\nOK\r\n")

        time.sleep(0.1)
        play(peer, modem)
        response = client.command("AT+CSQ")
        assert response.lines == ("+CSQ: 5,99",)  # the overlong garbage line was dropped
        assert client.stats.overlong_lines == 2
        assert len(sub.drain()) == 2  # the short binary lines, delivered as unsolicited noise


def test_random_bytes_from_the_modem_never_crash_the_client(peer) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(99)
    alphabet = b"OK ERROR+CME:\r\n\x00\xff,\"0123456789QENG"
    with AtClient(peer.path) as client:
        for _ in range(300):
            peer.send(bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 120))))
        peer.send(b"\r\n")
        time.sleep(0.2)

        def modem() -> None:
            peer.read_line()
            peer.send(b"\r\n+CSQ: 7,99\r\n\r\nOK\r\n")

        play(peer, modem)
        assert client.command("AT+CSQ").lines == ("+CSQ: 7,99",)


def test_a_failing_callback_does_not_stop_delivery(emulator: Emulator) -> None:
    seen: list[str] = []

    def broken(urc: Urc) -> None:
        raise RuntimeError("subscriber bug")

    with AtClient(str(emulator.pty.path)) as client:
        client.subscribe(callback=broken)
        client.subscribe("+QIND", callback=lambda u: seen.append(u.line))
        emulator.port.urc('+QIND: "FOTA","START"')
        emulator.port.urc('+QIND: "FOTA","END",0')
        assert client.command("AT").final == "OK"
        deadline = time.monotonic() + 1
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert seen == ['+QIND: "FOTA","START"', '+QIND: "FOTA","END",0'] and client.stats.callback_errors == 2


def test_lost_port_fails_the_command_instead_of_hanging(peer) -> None:  # type: ignore[no-untyped-def]
    with AtClient(peer.path) as client:
        def hang_up() -> None:
            peer.read_line()
            os.close(peer.slave)
            os.close(peer.master)

        play(peer, hang_up)
        with pytest.raises((PortClosed, AtTimeout)):
            client.command("AT", timeout=2)


def test_refuses_what_is_not_one_command_line(emulator: Emulator) -> None:
    with AtClient(str(emulator.pty.path)) as client:
        for bad in ("CSQ", "AT\rAT", "AT+CSQ\n"):
            with pytest.raises(ValueError):
                client.command(bad)
    with pytest.raises(PortClosed, match="cannot open"):
        AtClient("/nonexistent/tty")


STRESS_COMMANDS = ["AT+CSQ", "AT+CEREG?", "AT+C5GREG?", 'AT+QENG="servingcell"', "AT+CREG?;+CEREG?;+C5GREG?",
                   "ATI", "AT+CGPADDR=1", "AT+QRSRP;+QRSRQ;+QSINR", "AT+CFUN?", "AT+COPS?", "AT+NOSUCH"]


def test_ten_thousand_commands_with_random_urcs_and_no_misparse(emulator: Emulator) -> None:
    """Raw command lines and typed driver calls, mixed; every answer compared with its quiet twin."""
    with AtClient(str(emulator.pty.path)) as client:
        modem = QuectelModem(client)
        client.command("AT+CEREG=2;+C5GREG=2;+CREG=1")
        calls: dict[str, Callable[[], object]] = {
            c: (lambda c=c: (lambda r: (r.lines, r.final))(client.command(c, check=False))) for c in STRESS_COMMANDS}
        calls.update({"serving_cell()": modem.serving_cell, "signal()": modem.signal,
                      "registration()": modem.registration, "pdp_address()": modem.pdp_address})
        expected = {name: call() for name, call in calls.items()}
        sub = client.subscribe()
        emulator.set_chaos(0.25, seed=7)
        rng = random.Random(11)
        names = sorted(calls)
        wrong = []
        for _ in range(10_000):
            name = rng.choice(names)
            got = calls[name]()
            if got != expected[name]:
                wrong.append((name, got))
        emulator.set_chaos(0.0)
        urcs = sub.drain()
    assert wrong == []
    assert len(urcs) > 5000 and {u.line for u in urcs} <= set(CHAOS_URCS)
    assert client.stats.stray_finals == 0 and client.stats.overlong_lines == 0
