"""testbed.host: kernel features found by trying them, and testbed doctor's report of them.

Whether netem works here is checked against an independent try (``unshare --net tc ...``),
so these tests hold on CI (no netem: False) and on a stock kernel alike; that the probe says
True inside a VM with netem is tests/vm/test_runner.py's job.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from click.testing import CliRunner

from testbed.host import FEATURES, capabilities, kernel_supports_netem
from testbed.vm import kvm_accel

KEYS = {"kernel", "root", *FEATURES, "kvm", "vm", "vm_accel", "vm_kernel", "vm_kernel_netem", "details"}


def test_capabilities_report_every_feature_with_a_reason() -> None:
    caps = capabilities()
    assert set(caps) == KEYS
    assert caps["kernel"] == os.uname().release and caps["root"] is (os.geteuid() == 0)
    for feature in FEATURES:
        assert caps[feature] in (True, False, None), feature
        assert caps["details"][feature], feature
    assert caps["kvm"] is (kvm_accel().name == "kvm") and caps["details"]["kvm"]
    assert isinstance(caps["vm"], bool) and caps["details"]["vm"]
    if caps["vm"]:
        assert caps["vm_accel"] in ("kvm", "tcg") and caps["vm_kernel"] != caps["kernel"]


@pytest.mark.root
def test_kernel_supports_netem_agrees_with_an_independent_try() -> None:
    done = subprocess.run(["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
                          capture_output=True, text=True)
    assert kernel_supports_netem() is (done.returncode == 0), done.stderr
    assert capabilities()["netem"] is kernel_supports_netem()


@pytest.mark.root
def test_the_basics_rigs_need_work_here() -> None:
    caps = capabilities()
    assert caps["netns"] and caps["veth"], caps["details"]


@pytest.mark.root
def test_the_probe_leaves_nothing_behind() -> None:
    """It works in a namespace of its own that dies with it: no netns name, no device here."""
    from testbed import host

    def seen() -> tuple[str, str]:
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return links, names

    before = seen()
    host._probe.cache_clear()
    fresh = host._probe()
    assert fresh["netns"][0] is True
    after = seen()
    assert "tbprobe" not in after[0] and after[1] == before[1]


def test_kvm_can_be_forced_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTBED_VM_ACCEL", "tcg")
    assert kvm_accel().name == "tcg"
    monkeypatch.setenv("TESTBED_VM_ACCEL", "kvm")
    assert kvm_accel().name == "kvm"


def test_doctor_json_has_every_key_and_the_table_says_where_things_run() -> None:
    from testbed.cli.doctor import command

    as_json = CliRunner().invoke(command, ["--json"])
    assert as_json.exit_code == 0, as_json.output
    assert set(json.loads(as_json.output)) == KEYS
    table = CliRunner().invoke(command, [])
    assert table.exit_code == 0, table.output
    caps = capabilities()
    for feature in ("root", *FEATURES, "kvm", "vm"):
        assert f"  {feature} " in table.output, feature
    if caps["netem"] is False and caps["vm"]:
        assert "netem  missing" in table.output and "run under `testbed vm`" in table.output
    if caps["netem"]:
        assert "shaped rigs and netem tests run here" in table.output
