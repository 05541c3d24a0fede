"""Helpers for the CLI tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOPOLOGIES = REPO / "topologies"
WARD = TOPOLOGIES / "ward.yaml"
TIMEOUT = 30

_suffix = secrets.token_hex(2)
_counter = itertools.count(1)


def unique_rig_name() -> str:
    """A rig name no other test (or other pytest run on this host) uses: <= 24 chars, [a-z][a-z0-9-]*."""
    name = f"tc{os.getpid()}{_suffix}{next(_counter)}"
    assert len(name) <= 24, name
    return name


def netns_names() -> set[str]:
    """Names in `ip netns list` (first word of each line)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=TIMEOUT).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def rig_namespaces(rig: str) -> set[str]:
    """The namespaces of ``rig`` that exist right now, by name."""
    return {n for n in netns_names() if n.startswith(f"tb-{rig}-")}


def ward_topology() -> dict[str, Any]:
    """ward.yaml as plain data, read independently of the testbed package."""
    return yaml.safe_load(WARD.read_text(encoding="utf-8"))


def link_names(topo: dict[str, Any]) -> list[str]:
    """Link names as the topology documents them: explicit, or '<node a>-<node b>'."""
    return [lk.get("name") or "-".join(str(e).split(":")[0] for e in lk["endpoints"]) for lk in topo["links"]]


@dataclass
class Cli:
    """Runs ``python -m testbed`` with a private $TESTBED_RUN_DIR."""

    run_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        base = {k: v for k, v in os.environ.items() if k not in ("TESTBED_RIG", "TESTBED_RUN_DIR")}
        self.env = {**base, "TESTBED_RUN_DIR": str(self.run_dir), **self.env}

    def __call__(self, *args: str | os.PathLike[str], env: dict[str, str] | None = None,
                 prefix: list[str] | None = None, cwd: str | os.PathLike[str] = REPO,
                 timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        argv = [*(prefix or []), sys.executable, "-m", "testbed", *map(str, args)]
        return subprocess.run(argv, env={**self.env, **(env or {})}, cwd=cwd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def status_json(self, rig: str) -> dict[str, Any]:
        result = self("status", "--rig", rig, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@contextlib.contextmanager
def rig_up(cli: Cli, name: str, topology: Path = WARD) -> Iterator[subprocess.CompletedProcess[str]]:
    """Bring ``name`` up from ``topology``; always take exactly that rig down again afterwards."""
    try:
        result = cli("up", "--no-shaping", "--no-modems", "--rig", name, topology)
        if result.returncode != 0:
            pytest.fail(f"testbed up --rig {name} failed ({result.returncode}): {result.stderr}")
        yield result
    finally:
        cli("down", "--rig", name)
        if rig_namespaces(name):
            cli("clean", "--rig", name)
        leftovers = rig_namespaces(name)
        assert not leftovers, f"rig {name} left namespaces behind: {sorted(leftovers)}"
