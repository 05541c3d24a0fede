"""The netem tests, run inside a VM with a stock kernel when this host's kernel has no netem.

Tests marked ``netem`` skip on such a host (tests/conftest.py); this one boots the VM once
and runs all of them there with the same pytest, so CI exercises real netem. Inside the VM
(where netem works) it skips itself, and the marked tests run directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.root, pytest.mark.vm]


@pytest.mark.timeout(2700)
def test_netem_tests_pass_inside_a_vm_with_a_stock_kernel() -> None:
    from testbed.host import kernel_supports_netem

    if kernel_supports_netem():
        pytest.skip("this kernel has netem: the netem tests run directly, not in a VM")
    from testbed.vm import run_in_vm

    argv = [sys.executable, "-m", "pytest", "-m", "netem", "-p", "no:cacheprovider", "-q", "-rfE",
            "--basetemp=/dev/shm/testbed-vm-pytest", "--durations=15", "tests"]
    results = os.environ.get("TESTBED_E2E_RESULTS")  # CI keeps the e2e figures: results.json + junit.xml
    if results:
        argv += ["--results", results]
    result = run_in_vm(argv, cwd=str(REPO), env={"TMPDIR": "/dev/shm", "PYTHONDONTWRITEBYTECODE": "1"},
                       timeout=2400, memory="4G")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "(no output)"
    print(f"inside the VM: {summary}")
    assert result.returncode == 0, f"netem tests failed inside the VM ({summary}):\n{result.stdout[-6000:]}\n" \
                                   f"{result.stderr[-2000:]}"
    assert " passed" in summary and "skipped" not in summary, summary  # inside, nothing may skip
