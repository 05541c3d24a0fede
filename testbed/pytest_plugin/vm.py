"""``--vm``: when the selected tests need netem and this kernel lacks it, run the session in a VM.

The whole pytest invocation is repeated inside the VM (testbed.vm: a stock kernel over this
host's root file system, the project folder shared read-write) with ``--vm=never``, its
output streamed here, and its exit code becomes this session's. Inside the VM /tmp is not
writable, so pytest's temporary folders go to /dev/shm.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

from .capabilities import missing
from .rigs import is_shaped

IN_VM = "TESTBED_IN_VM"


def needs_netem(item: pytest.Item) -> bool:
    if item.get_closest_marker("netem") is not None or item.get_closest_marker("profile") is not None:
        return True  # a profile marker shapes links with netem, whatever the topology file says
    if any("netem" in m.args for m in item.iter_markers("needs")):
        return True
    callspec = getattr(item, "callspec", None)
    topology = callspec.params.get("rig") if callspec is not None else None
    return topology is not None and is_shaped(str(topology))


def should_rerun_in_vm(config: pytest.Config, items: list[pytest.Item]) -> str | None:
    """Why this session should run in the VM, or None."""
    mode = config.getoption("vm")
    if mode == "never" or os.environ.get(IN_VM):
        return None
    if mode == "always":
        return "--vm always"
    wanting = [item for item in items if needs_netem(item)]
    if not wanting or missing("root") or missing("netem") is None:
        return None
    return f"{len(wanting)} selected test(s) need netem and this kernel has none"


def rerun_in_vm(config: pytest.Config, why: str) -> int:
    from ..vm import run_in_vm

    args = [*_without(list(config.invocation_params.args), "--vm", "--basetemp"),
            "--basetemp=/dev/shm/testbed-pytest-vm", "--vm=never"]
    argv = [sys.executable, "-m", "pytest", *args]
    cwd = Path(config.invocation_params.dir)
    writable = {str(cwd), str(config.rootpath)}
    results = config.getoption("results")
    if results:
        target = (cwd / results).resolve()
        target.mkdir(parents=True, exist_ok=True)
        writable.add(str(target))
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"testbed: {why}: running this session inside a VM with a stock kernel (--vm=never "
                            "to skip those tests instead)", yellow=True)
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        sys.stdout.flush()
        result = run_in_vm(argv, cwd=str(cwd), env={"TMPDIR": "/dev/shm", "PYTHONDONTWRITEBYTECODE": "1"},
                           timeout=float(os.environ.get("TESTBED_VM_TIMEOUT", "3600")), writable=sorted(writable),
                           stdout=sys.stdout.buffer, stderr=sys.stderr.buffer)
    _silence_outer_outputs(config)
    return result.returncode


def _without(args: list[str], *options: str) -> list[str]:
    """``args`` without ``--opt VALUE`` / ``--opt=VALUE`` for each option."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        elif not any(arg.startswith(f"{o}=") for o in options):
            kept.append(arg)
    return kept


def _silence_outer_outputs(config: pytest.Config) -> None:
    """The session inside the VM wrote junit.xml and results.json; this one must not overwrite them."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        config.pluginmanager.unregister(xml)
        del config.stash[xml_key]

