"""`testbed up` starts the emulated modems; `testbed modem` talks AT to them; `down` stops them."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from cli_support import WARD, Cli, rig_namespaces, unique_rig_name

pytestmark = pytest.mark.root


@pytest.fixture
def short_cli():
    """A run directory with a short path: the emulators' Unix sockets hold at most 107 bytes."""
    run_dir = Path(tempfile.mkdtemp(prefix="tbm", dir="/dev/shm"))
    try:
        yield Cli(run_dir)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def test_up_starts_an_emulator_per_modem_node_that_answers_at_and_down_stops_them(short_cli: Cli) -> None:
    rig = unique_rig_name()
    up = short_cli("up", "--no-shaping", "--rig", rig, WARD)
    try:
        assert up.returncode == 0, up.stderr
        assert [line.split(":")[0].strip() for line in up.stdout.splitlines() if "modem" in line] == \
            ["modem m1", "modem m2", "modem m3"]
        ati = short_cli("modem", "--rig", rig, "m1", "ATI")
        assert ati.returncode == 0, ati.stderr
        assert ati.stdout.splitlines()[0] == "Quectel" and ati.stdout.splitlines()[-1] == "OK"
        bad = short_cli("modem", "--rig", rig, "m2", "AT+CGDCONT=99")
        assert bad.returncode == 7 and "ERROR" in bad.stdout
        not_modem = short_cli("modem", "--rig", rig, "ecg1", "ATI")
        assert not_modem.returncode == 5 and "not modem" in not_modem.stderr
    finally:
        down = short_cli("down", "--rig", rig)
    assert down.returncode == 0 and "stopped 3 processes" in down.stdout
    assert rig_namespaces(rig) == set()
    gone = short_cli("up", "--no-shaping", "--no-modems", "--rig", rig, WARD)
    try:
        assert short_cli("modem", "--rig", rig, "m1", "ATI").returncode == 5  # none started this time
    finally:
        short_cli("down", "--rig", rig)
    assert gone.returncode == 0
