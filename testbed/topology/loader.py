"""Load a topology file: YAML with marks, strict types, cross-field checks, resolution.

Every problem is reported as ``file:line:column: path: message``; the loader collects all
of them before raising, so one run shows everything that needs fixing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path as FsPath

from ..errors import TopologyInvalid
from .checks import check_topology
from .library import library_profiles, with_library_profiles
from .marked_yaml import Locations, MarkedYAMLError, load_marked
from .model import Topology
from .resolve import resolve
from .strict import Converter, Problem, describe_path


def load_topology(path: str | FsPath) -> Topology:
    """Read, validate and resolve one topology file; raises :class:`TopologyInvalid`."""
    path = FsPath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TopologyInvalid(str(path), [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyInvalid(str(path), [f"{path}: cannot read: {exc}"]) from None
    return parse_topology(text, str(path))


def parse_topology(text: str, source: str = "<string>") -> Topology:
    """Validate and resolve a topology given as text; ``source`` names it in messages."""
    try:
        data, locations = load_marked(text)
    except MarkedYAMLError as exc:
        where = f"{source}:{exc.mark.line}:{exc.mark.column}" if exc.mark else source
        raise TopologyInvalid(source, [f"{where}: {exc.message}"]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else "not a mapping"
        raise TopologyInvalid(source, [f"{source}:1:1: the document is {kind}; a topology is a mapping "
                                       "with at least 'name' and 'nodes'"])
    converter = Converter()
    topo = converter.convert(data, Topology, ())
    problems = list(converter.problems)
    # Cross-field checks run on what did convert (failed values hold None), so one run
    # reports everything; resolution needs a clean model, so it waits for one.
    topo = with_library_profiles(topo)
    problems += _not_caused_by(check_topology(topo, library_profiles()), converter.problems)
    if not problems:
        topo = dataclasses.replace(topo, source=source)
        topo, resolve_problems = resolve(topo)
        problems += resolve_problems
    if problems:
        raise TopologyInvalid(source, format_problems(problems, locations, source))
    assert topo is not None
    return topo


def _not_caused_by(found: list[Problem], failed: list[Problem]) -> list[Problem]:
    """Drop cross-field problems inside a block where a value already failed to convert: a
    rule like "reorder needs delay" says nothing useful when delay was there but misspelt."""
    blocks = {p.path[:-1] for p in failed if len(p.path) > 1}
    return [p for p in found
            if not any(len(p.path) > len(block) and p.path[:len(block)] == block for block in blocks)]


def format_problems(problems: list[Problem], locations: Locations, source: str) -> list[str]:
    lines = []
    for problem in problems:
        mark = locations.key(problem.path) if problem.at_key else locations.value(problem.path)
        where = f"{source}:{mark.line}:{mark.column}" if mark else source
        lines.append((mark.line if mark else 0, mark.column if mark else 0,
                      f"{where}: {describe_path(problem.path)}: {problem.message}"))
    return [text for _, _, text in sorted(lines, key=lambda t: (t[0], t[1]))]
