"""The shipped profile library (profiles.yaml): named, sourced 5G/LTE/fibre/Wi-Fi impairments.

A topology may name a library profile in ``profile:`` or ``extends:`` without defining it;
the loader copies the profiles it uses (and what they extend) into the topology, so a loaded
topology is self-contained. A profile the topology defines itself shadows the library's.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TopologyInvalid
from .checks import check_profiles
from .marked_yaml import MarkedYAMLError, load_marked
from .model import Profile, Topology
from .strict import Converter, doc

LIBRARY_PATH = Path(__file__).with_name("profiles.yaml")


@dataclass(frozen=True)
class ProfileLibrary:
    """The profiles file: only named profiles."""

    profiles: dict[str, Profile] = field(default_factory=dict, metadata=doc("profiles by name"))


@functools.cache
def library_profiles() -> dict[str, Profile]:
    """Every library profile by name (parsed and checked once per process)."""
    from .loader import format_problems

    source = str(LIBRARY_PATH)
    try:
        data, locations = load_marked(LIBRARY_PATH.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        raise TopologyInvalid(source, [f"{source}: {exc.message}"]) from None
    converter = Converter()
    library = converter.convert(data, ProfileLibrary, ())
    problems = converter.problems + check_profiles(Topology(name="library", profiles=library.profiles))
    if problems:
        raise TopologyInvalid(source, format_problems(problems, locations, source))
    return dict(library.profiles)


def with_library_profiles(topo: Topology) -> Topology:
    """``topo`` with the library profiles it refers to (transitively) copied in."""
    library = library_profiles()
    wanted: list[str] = [link.profile for link in topo.links if link is not None and link.profile]
    wanted += [p.extends for p in topo.profiles.values() if p is not None and p.extends]
    wanted += [e.handover.profile for e in topo.timeline
               if e is not None and e.handover is not None and e.handover.profile is not None]
    added: dict[str, Profile] = {}
    while wanted:
        name = wanted.pop()
        if name in topo.profiles or name in added or name not in library:
            continue
        added[name] = library[name]
        parent = library[name].extends
        if parent is not None:
            wanted.append(parent)
    if not added:
        return topo
    return dataclasses.replace(topo, profiles={**added, **topo.profiles})
