"""The session's rigs: one per topology file, brought up on first use and taken down at the end.

Why reuse a kept-up rig: with ``--keep-up`` an engineer iterates on a test against a rig
that stays up between runs; the next session attaches to it when it was made by this plugin
from the same file (same SHA-256), instead of paying the bring-up again. A rig of that name
made from anything else is a conflict to resolve by hand, never something to tear down.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..backends import state as st
from ..backends.emulated import EmulatedRig
from ..backends.plan import plan_rig, shaped_ends
from ..errors import RigConflict
from ..topology import Topology, load_topology
from ..topology.model import RIG_NAME_MAX

MARK_FILE = "pytest.json"  # in the rig's run directory: which file the rig was made from


def rig_name(topo: Topology) -> str:
    return re.sub(r"[^a-z0-9-]", "-", f"pt-{topo.name}".lower())[:RIG_NAME_MAX].rstrip("-")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def _loaded(path: str) -> Topology:
    return load_topology(path)


@functools.cache
def is_shaped(path: str) -> bool:
    """Whether bringing this topology up attaches netem anywhere."""
    return bool(shaped_ends(plan_rig(_loaded(path))))


@dataclass
class RigEntry:
    path: Path
    topology: Topology
    rig: EmulatedRig
    reused: bool


class RigPool:
    def __init__(self, keep_up: bool) -> None:
        self.keep_up = keep_up
        self.entries: dict[Path, RigEntry] = {}
        self.kept: list[RigEntry] = []  # released but left up (--keep-up)

    def get(self, path: Path) -> RigEntry:
        path = path.resolve()
        if path not in self.entries:
            self.entries[path] = self._bring_up(path)
        return self.entries[path]

    def _bring_up(self, path: Path) -> RigEntry:
        topo = _loaded(str(path))
        name = rig_name(topo)
        digest = sha256_of(path)
        mark = st.rig_dir(name) / MARK_FILE
        if st.read_state(name) is not None:
            made = json.loads(mark.read_text(encoding="utf-8")) if mark.exists() else None
            if made and made.get("sha256") == digest:
                rig = EmulatedRig.attach(name)
                rig.topology = topo
                return RigEntry(path, topo, rig, reused=True)
            why = (f"made from {made['path']} (another version)" if made else "not made by this plugin")
            raise RigConflict(f"rig {name!r} for {path} is already up, {why}; take it down first: "
                              f"testbed down --rig {name}")
        rig = EmulatedRig.up(topo, name)
        mark.write_text(json.dumps({"path": str(path), "sha256": digest}), encoding="utf-8")
        return RigEntry(path, topo, rig, reused=False)

    def release(self, path: Path) -> None:
        """Take the rig down (unless --keep-up): called when the last test using it is done."""
        entry = self.entries.pop(path.resolve(), None)
        if entry is None:
            return
        if self.keep_up:
            self.kept.append(entry)
        else:
            entry.rig.down()


def resolve_topology(spec: str, config: pytest.Config, base: Path | None = None) -> Path:
    """A marker's or option's topology: a path (relative to ``base``, default the rootdir) or a bare name."""
    root = base or config.rootpath
    candidate = Path(spec)
    if not candidate.is_absolute():
        candidate = root / candidate
    if candidate.is_file():
        return candidate.resolve()
    if "/" not in spec and not spec.endswith((".yaml", ".yml")):
        named = config.rootpath / config.getini("testbed_topology_dir") / f"{spec}.yaml"
        if named.is_file():
            return named.resolve()
    raise pytest.UsageError(f"topology {spec!r}: no such file (looked for {candidate}"
                            + (f" and {config.rootpath / config.getini('testbed_topology_dir') / (spec + '.yaml')})"
                               if "/" not in spec else ")"))
