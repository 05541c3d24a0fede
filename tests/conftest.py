"""Suite-wide rules: tests marked ``root`` skip cleanly where the suite is not run as root."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: creates network namespaces (run the suite as root, as CI does)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``netem`` need a kernel with sch_netem; elsewhere tests/kernel runs them in a VM."""
    if item.get_closest_marker("netem") is None:
        return
    from testbed.host import kernel_supports_netem

    if os.geteuid() != 0 or not kernel_supports_netem():
        pytest.skip("this kernel has no sch_netem: tests/kernel/test_in_vm.py runs these inside a VM")
