"""A VM with a stock kernel for what the host kernel cannot do (netem, first of all).

``run_in_vm(["python", "-m", "pytest", "tests/shaping"])`` boots the newest stock kernel under
/boot with virtme-ng over the host's own filesystem, runs the command as root in the current
folder, and returns its exit code and output (runner.py). kernel.py picks the kernel,
prereq.py checks the host and KVM, guest.py trims the guest's init so a boot under TCG takes
seconds. ``testbed vm -- CMD...`` is the same from the shell.
"""

from __future__ import annotations

from .kernel import StockKernel, find_stock_kernel
from .prereq import find_vm_tools, kvm_accel, vm_unavailable_reason
from .runner import VmError, VmResult, VmTimeout, run_in_vm

__all__ = [
    "StockKernel", "VmError", "VmResult", "VmTimeout", "find_stock_kernel", "find_vm_tools", "kvm_accel",
    "run_in_vm", "vm_unavailable_reason",
]
