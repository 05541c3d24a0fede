"""YAML with line marks: plain Python values plus an index from value paths to file positions.

PyYAML's safe constructor decides what every scalar means (``yaml.safe_load`` semantics, no
object tags); this module only walks the composed node graph so that a later check can say
*where* a bad value is. Duplicate keys, which ``safe_load`` silently lets the last one win,
are reported here as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

#: libyaml's parser when PyYAML was built with it (several times faster), same semantics.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column in a source file."""

    line: int
    column: int

    @classmethod
    def of(cls, node: yaml.Node) -> Mark:
        return cls(node.start_mark.line + 1, node.start_mark.column + 1)


@dataclass
class Locations:
    """Where each value (and each mapping key) of a document starts."""

    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)

    def value(self, path: Path) -> Mark | None:
        """The mark of the value at ``path``, or of its nearest ancestor that has one."""
        return _nearest(self.values, path)

    def key(self, path: Path) -> Mark | None:
        """The mark of the key that names ``path``, falling back to the value's mark."""
        return self.keys.get(path) or _nearest(self.values, path)


class MarkedYAMLError(ValueError):
    """The document is not YAML we accept; ``mark`` says where."""

    def __init__(self, message: str, mark: Mark | None, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.path = path


def load_marked(text: str) -> tuple[Any, Locations]:
    """Parse one YAML document into plain values and their locations."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        locations = Locations()
        if root is None:
            return None, locations
        return _Walker(loader, locations).walk(root, ()), locations
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else None
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise MarkedYAMLError(f"not valid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise MarkedYAMLError(f"not valid YAML: {exc}", None) from None
    finally:
        loader.dispose()


class _Walker:
    def __init__(self, loader: Any, locations: Locations) -> None:
        self.loader = loader
        self.locations = locations
        self.active: set[int] = set()

    def walk(self, node: yaml.Node, path: Path) -> Any:
        self.locations.values.setdefault(path, Mark.of(node))
        if id(node) in self.active:
            raise MarkedYAMLError("recursive alias: a value may not contain itself", Mark.of(node), path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(item, path + (i,)) for i, item in enumerate(node.value)]
            return self.loader.construct_object(node, deep=True)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged.update(self._merge_source(value_node, path))
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise MarkedYAMLError("a mapping key must be a plain scalar", Mark.of(key_node), path)
            key = key if isinstance(key, str) else str(key)
            if key in result:
                first = self.locations.keys[path + (key,)]
                raise MarkedYAMLError(
                    f"duplicate key {key!r} (first given at line {first.line})", Mark.of(key_node), path + (key,)
                )
            self.locations.keys[path + (key,)] = Mark.of(key_node)
            result[key] = self.walk(value_node, path + (key,))
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_source(self, node: yaml.Node, path: Path) -> dict[Any, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise MarkedYAMLError("a merge key (<<) takes a mapping or a list of mappings", Mark.of(source), path)
            for key, value in self._mapping(source, path).items():
                merged.setdefault(key, value)
        return merged


def _nearest(index: dict[Path, Mark], path: Path) -> Mark | None:
    for end in range(len(path), -1, -1):
        mark = index.get(path[:end])
        if mark is not None:
            return mark
    return None
