"""Shared fixtures for the CLI tests: the CLI as a real subprocess, in a private run directory.

Every command runs as ``python -m testbed`` with ``$TESTBED_RUN_DIR`` pointing into pytest's
tmp_path, so the tests never see or disturb a developer's rigs. Rigs that tests bring up get a
name unique to this pytest process (network namespaces are global on the host) and are always
taken down again with ``testbed down --rig NAME`` (falling back to ``clean --rig NAME``, never a
bare ``clean``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import TIMEOUT, WARD, Cli, rig_up, unique_rig_name


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI with an empty run directory of its own."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return Cli(run_dir)


@pytest.fixture
def make_rig(cli: Cli) -> Iterator[Callable[..., str]]:
    """Bring up uniquely named rigs in ``cli``'s run directory; all are taken down at the end."""
    with contextlib.ExitStack() as stack:

        def make(topology: Path = WARD) -> str:
            name = unique_rig_name()
            stack.enter_context(rig_up(cli, name, topology))
            return name

        yield make


@dataclass
class SharedRig:
    cli: Cli
    name: str
    up_output: str


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedRig]:
    """One ward rig per module for tests that only look at it or run commands in it."""
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces")
    run_dir = tmp_path_factory.mktemp("shared-run")
    shared = Cli(run_dir)
    name = unique_rig_name()
    with rig_up(shared, name) as result:
        yield SharedRig(shared, name, result.stdout)


@pytest.fixture(scope="session")
def nobody() -> list[str]:
    """A command prefix that runs the rest as uid/gid 65534 without root's capabilities.

    Where the Python interpreter lives in root's 0700 home (pyenv), the unprivileged process
    gets CAP_DAC_READ_SEARCH only, to read its own interpreter and packages; it still is not
    root and has neither CAP_SYS_ADMIN nor CAP_NET_ADMIN (checked here).
    """
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    base = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = ("import os, testbed.cli\n"
             "caps = next(l for l in open('/proc/self/status') if l.startswith('CapEff:')).split()[1]\n"
             "print(os.getuid(), os.geteuid(), int(caps, 16))")
    for extra in ([], ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]):
        result = subprocess.run([*base, *extra, sys.executable, "-c", probe], cwd="/", capture_output=True,
                                text=True, timeout=TIMEOUT)
        if result.returncode == 0:
            uid, euid, caps = map(int, result.stdout.split())
            cap_net_admin, cap_sys_admin = 1 << 12, 1 << 21
            assert uid == euid == 65534 and not caps & (cap_net_admin | cap_sys_admin), result.stdout
            return [*base, *extra]
    pytest.skip(f"cannot run {sys.executable} with testbed as uid 65534: {result.stderr.strip()[-200:]}")


@pytest.fixture
def world_readable_ward() -> Iterator[Path]:
    """A copy of ward.yaml that uid 65534 can read (pytest's tmp_path is root-only)."""
    directory = Path(tempfile.mkdtemp(prefix="tb-cli-test-", dir="/tmp"))
    try:
        directory.chmod(0o755)
        path = directory / "ward.yaml"
        path.write_text(WARD.read_text(encoding="utf-8"), encoding="utf-8")
        path.chmod(0o644)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)
