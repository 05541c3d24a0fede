"""Command-line options and ini keys of the plugin, in pytest's "testbed" group."""

from __future__ import annotations

import pytest

VM_CHOICES = ("auto", "never", "always")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("testbed", "testbed: rigs from topology files, measurements, results")
    group.addoption("--topology", metavar="FILE", default=None,
                    help="topology file to bring up as the session's rig; overrides the files named by "
                         "@pytest.mark.topology(...) and gives one fixture per node, by node name")
    group.addoption("--keep-up", action="store_true", default=False,
                    help="leave the rigs up after the session (inspect with `testbed status`, remove with "
                         "`testbed down --rig NAME`); the next session reuses a rig left up from the same file")
    group.addoption("--results", metavar="DIR", default=None,
                    help="write results.json (every measurement, with units, limits and outcome), the samples "
                         "behind each distribution, and junit.xml (unless --junitxml is given) into DIR; "
                         "render them with `testbed report DIR`")
    group.addoption("--vm", choices=VM_CHOICES, default="auto",
                    help="when tests need netem and this kernel lacks it: auto = run the session inside a VM "
                         "with a stock kernel (testbed vm), never = skip those tests, always = run in the VM "
                         "regardless (default: auto)")
    parser.addini("testbed_topology_dir", "folder that bare topology names in markers are looked up in",
                  default="topologies")


MARKERS = (
    "topology(*files): the rig this test runs on; several files parametrise the test over them "
    "(--topology overrides). Paths are relative to the rootdir; a bare name means <testbed_topology_dir>/NAME.yaml",
    "profile(*names, links=None): shape the rig's access links (links through a modem, else links with a sensor "
    "end; or the names in links=) with each named profile in turn for the test, restoring them after",
    "needs(*capabilities): skip unless the host has them: root, netem, vm, kvm, hardware",
)
