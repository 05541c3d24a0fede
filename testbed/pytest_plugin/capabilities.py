"""``@pytest.mark.needs(...)``: skip with the reason when this host lacks a capability.

The check runs at setup, not at collection, so a suite that never reaches such a test pays
nothing for probing (netem is probed in a child namespace; the VM check looks for tools).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import pytest


def _root() -> str | None:
    return None if os.geteuid() == 0 else "needs root: the rig's namespaces are created for real"


@functools.cache
def _netem() -> str | None:
    if _root():
        return "needs root to probe netem"
    from ..host import kernel_supports_netem

    if kernel_supports_netem():
        return None
    return "this kernel has no sch_netem: run with --vm auto (a VM with a stock kernel) or on a kernel with netem"


@functools.cache
def _vm() -> str | None:
    from ..vm import vm_unavailable_reason

    return vm_unavailable_reason()


@functools.cache
def _kvm() -> str | None:
    from ..vm import kvm_accel

    accel = kvm_accel()
    return None if accel.name == "kvm" else f"no usable KVM: {accel.reason}"


def _hardware() -> str | None:
    return "needs real hardware (modems, Pi boards): this session runs an emulated rig"


CHECKS: dict[str, Callable[[], str | None]] = {
    "root": _root, "netem": _netem, "vm": _vm, "kvm": _kvm, "hardware": _hardware,
}


def missing(capability: str) -> str | None:
    """Why this host lacks ``capability``, or None when it has it."""
    try:
        check = CHECKS[capability]
    except KeyError:
        raise pytest.UsageError(f"@pytest.mark.needs({capability!r}): expected one of "
                                f"{', '.join(CHECKS)}") from None
    return check()


def skip_unless_capable(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        for capability in marker.args:
            reason = missing(capability)
            if reason:
                pytest.skip(f"needs {capability}: {reason}")
