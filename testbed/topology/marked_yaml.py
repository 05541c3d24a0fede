"""YAML with line marks: plain Python values plus an index from value paths to file positions.

PyYAML's safe constructor decides what every scalar means (``yaml.safe_load`` semantics, no
object tags); this module only walks the composed node graph so that a later check can say
*where* a bad value is. Duplicate keys, which ``safe_load`` silently lets the last one win,
are reported here as errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
    except yaml.reader.ReaderError as exc:
        before = text[:exc.position]
        where = Mark(before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        raise MarkedYAMLError(f"not valid YAML: {exc.reason} (character {exc.character!r})", where) from None
    except yaml.YAMLError as exc:
        raise MarkedYAMLError(f"not valid YAML: {exc}", None) from None
    finally:
        loader.dispose()


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Walker:
    def __init__(self, loader: Any, locations: Locations) -> None:
        self.loader = loader
        self.locations = locations
        self.active: set[int] = set()

    def walk(self, node: yaml.Node, path: Path, merging: bool = False) -> Any:
        self.locations.values.setdefault(path, Mark.of(node))
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if node.tag not in _PLAIN_TAGS:
            raise MarkedYAMLError(f"the tag {node.tag!r} is not allowed: topology files are plain YAML",
                                  Mark.of(node), path)
        with self._entered(node, path):
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, merging)
            return [self.walk(item, path + (i,), merging) for i, item in enumerate(node.value)]

    @contextlib.contextmanager
    def _entered(self, node: yaml.Node, path: Path) -> Iterator[None]:
        if id(node) in self.active:
            raise MarkedYAMLError("recursive alias: a value may not contain itself", Mark.of(node), path)
        self.active.add(id(node))
        try:
            yield
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path, merging: bool) -> dict[Any, Any]:
        """Explicit keys first, then merge sources (``<<``), so explicit keys own the marks."""
        result: dict[Any, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.append(value_node)
                continue
            key = self._key(key_node, path)
            if key in result:
                first = self.locations.keys[path + (key,)]
                raise MarkedYAMLError(
                    f"duplicate key {key!r} (first given at line {first.line})", Mark.of(key_node), path + (key,)
                )
            if merging:
                self.locations.keys.setdefault(path + (key,), Mark.of(key_node))
            else:
                self.locations.keys[path + (key,)] = Mark.of(key_node)
            result[key] = self.walk(value_node, path + (key,), merging)
        for merge in merges:
            for key, value in self._merge_source(merge, path).items():
                result.setdefault(key, value)
        return result

    def _key(self, key_node: yaml.Node, path: Path) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            raise MarkedYAMLError("a mapping key must be a plain scalar", Mark.of(key_node), path)
        key = self.loader.construct_object(key_node, deep=True)
        if isinstance(key, bool) or key is None:
            meaning = "nothing (null)" if key is None else f"the boolean {str(key).lower()}"
            raise MarkedYAMLError(f"the key {key_node.value!r} reads as {meaning} in YAML; quote it: "
                                  f"'{key_node.value}'", Mark.of(key_node), path)
        if not isinstance(key, (str, int, float)):
            raise MarkedYAMLError("a mapping key must be a string or a number", Mark.of(key_node), path)
        return key if isinstance(key, str) else str(key)

    def _merge_source(self, node: yaml.Node, path: Path) -> dict[Any, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise MarkedYAMLError("a merge key (<<) takes a mapping or a list of mappings", Mark.of(source), path)
            for key, value in self.walk(source, path, merging=True).items():
                merged.setdefault(key, value)
        return merged


def _nearest(index: dict[Path, Mark], path: Path) -> Mark | None:
    for end in range(len(path), -1, -1):
        mark = index.get(path[:end])
        if mark is not None:
            return mark
    return None
