"""Node handles, and one fixture per node of the ``--topology`` file, named after the node.

Why per-node fixtures: a test about the ECG monitor asks for ``ecg1`` and gets that node,
instead of labgrid's single ``target`` ("main") and a lookup. Names that are not Python
identifiers, or that would shadow a fixture pytest or this plugin already has, get no
fixture of their own (a warning says so); ``nodes["name"]`` reaches every node.
"""

from __future__ import annotations

import keyword
import subprocess
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from ..backends.emulated import EmulatedRig

RESERVED = frozenset({"rig", "nodes", "measurements", "link_profile", "request", "config", "profile"})


@dataclass(frozen=True)
class NodeHandle:
    """One node of a rig: run commands in it, read its addresses."""

    rig: EmulatedRig
    name: str

    @property
    def info(self) -> dict[str, Any]:
        return self.rig.node(self.name)

    @property
    def role(self) -> str:
        return str(self.info["role"])

    @property
    def addresses(self) -> list[str]:
        """Interface addresses without prefix length, in link order."""
        return [a.split("/")[0] for a in self.info["addresses"]]

    @property
    def address(self) -> str:
        addresses = self.addresses
        if not addresses:
            raise LookupError(f"node {self.name} has no links, so no address")
        return addresses[0]

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        return self.rig.run(self.name, argv, **kwargs)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        return self.rig.popen(self.name, argv, **kwargs)

    def __repr__(self) -> str:
        return f"<node {self.name} of rig {self.rig.name}>"


def _node_fixture(name: str) -> Any:
    @pytest.fixture(name=name, scope="session")
    def node(rig: EmulatedRig) -> NodeHandle:
        rig.node(name)  # a test forced onto another topology by a marker: say which nodes it has
        return NodeHandle(rig, name)

    node.__doc__ = f"node {name} of the --topology rig"
    return node


def register_node_fixtures(config: pytest.Config, names: Sequence[str]) -> None:
    """Make a fixture per node name (called at configure time, before collection)."""
    fixtures: dict[str, Any] = {}
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name in RESERVED or name.startswith("tmp"):
            warnings.warn(pytest.PytestConfigWarning(
                f"node {name!r} gets no fixture of its own (not usable as a fixture name); use nodes[{name!r}]"),
                stacklevel=1)
            continue
        fixtures[f"node_{name}"] = _node_fixture(name)
    holder = types.ModuleType("testbed_node_fixtures")  # a module: its functions are not bound methods
    vars(holder).update(fixtures)
    config.pluginmanager.register(holder, "testbed-node-fixtures")
