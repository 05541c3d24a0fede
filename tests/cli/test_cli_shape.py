"""`testbed shape` and `testbed timeline` on this host (the kernel side runs in the VM)."""

from __future__ import annotations

import pytest
from cli_support import Cli

from testbed.host import kernel_supports_netem

pytestmark = pytest.mark.root


def test_show_reads_an_unshaped_link_back_from_the_kernel(cli: Cli, make_rig) -> None:
    rig = make_rig()
    result = cli("shape", "--rig", rig, "ecg1-gnb", "--show")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["up    not shaped", "down  not shaped"]
    result = cli("shape", "--rig", rig, "ecg1-gnb", "--show", "--json", "--down")
    assert result.stdout.strip() == '{\n  "down": null\n}'


def test_a_misspelt_field_is_a_usage_error_with_a_suggestion(cli: Cli, make_rig) -> None:
    rig = make_rig()
    result = cli("shape", "--rig", rig, "ecg1-gnb", "dealy=20ms")
    assert result.returncode == 2
    assert "unknown field 'dealy' (did you mean 'delay'?)" in result.stderr


def test_a_change_that_breaks_a_netem_rule_is_refused_before_touching_the_kernel(cli: Cli, make_rig) -> None:
    rig = make_rig()
    result = cli("shape", "--rig", rig, "edge-cloud", "--up", "delay=")
    assert result.returncode == 2
    assert "link edge-cloud (up): jitter needs delay" in result.stderr


def test_an_unknown_link_lists_the_links_there_are(cli: Cli, make_rig) -> None:
    rig = make_rig()
    result = cli("shape", "--rig", rig, "nosuch", "--show")
    assert result.returncode == 5
    assert "no link 'nosuch'; its links: ecg1-gnb, spo2-gnb, nibp-gnb, gnb-upf, upf-edge, edge-cloud" in result.stderr


def test_shaping_on_a_kernel_without_netem_names_testbed_vm(cli: Cli, make_rig) -> None:
    if kernel_supports_netem():
        pytest.skip("this kernel has netem")
    rig = make_rig()
    result = cli("shape", "--rig", rig, "ecg1-gnb", "delay=20ms")
    assert result.returncode == 4
    assert "testbed vm" in result.stderr
    up = cli("up", "--rig", rig + "x", "topologies/ward.yaml")
    assert up.returncode == 4 and "testbed vm -- testbed up" in up.stderr and "--no-shaping" in up.stderr
