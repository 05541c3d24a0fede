"""Strict conversion of plain YAML values into the model's dataclasses, and JSON Schema from them.

Both directions read the same type hints and field metadata, so the schema that editors use
cannot drift from what the loader accepts. Rules:

- a dataclass field ``snake_case`` is written ``snake-case`` in YAML;
- unknown keys are errors, with a "did you mean" when a field name is close;
- a field with ``metadata={"key": True}`` is filled from the mapping key that holds the
  object (node and profile names) and is not a YAML field;
- a class with ``parse(value)`` and ``SCHEMA`` is a scalar (durations, rates, addresses);
- ``doc`` in field metadata becomes the schema's description.

All problems found in one document are collected, so one run of ``testbed validate`` shows
them all.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .marked_yaml import Path
from .units import show_value


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (a value path), and what."""

    path: Path
    message: str
    at_key: bool = False


def yaml_name(field_name: str) -> str:
    return field_name.replace("_", "-")


def doc(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata with a description for the schema."""
    return {"doc": text, **extra}


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe_path(path: Path) -> str:
    """``links[2].endpoints[0]`` style, as the YAML author sees the nesting."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


class Converter:
    """Turns plain values into typed objects, collecting problems instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: Path, message: str, at_key: bool = False) -> None:
        self.problems.append(Problem(path, message, at_key))

    def convert(self, value: Any, hint: Any, path: Path) -> Any:
        origin = get_origin(hint)
        if hint is Any:
            return value
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(hint) if a is not type(None)]
            if value is None:
                return None
            if len(members) == 1:
                return self.convert(value, members[0], path)
            raise TypeError(f"unions of several types are not supported: {hint}")
        if origin is Literal:
            choices = get_args(hint)
            if value in choices and not isinstance(value, bool):
                return value
            shown = ", ".join(repr(c) for c in choices)
            extra = did_you_mean(str(value), [str(c) for c in choices])
            self.fail(path, f"expected one of {shown}, got {value!r}{extra}")
            return None
        if origin in (list, tuple):
            return self._sequence(value, hint, path)
        if origin is dict:
            return self._dict(value, hint, path)
        if hasattr(hint, "parse"):
            return self._scalar(value, hint, path)
        if dataclasses.is_dataclass(hint):
            return self._dataclass(value, hint, path)
        return self._plain(value, hint, path)

    def _scalar(self, value: Any, hint: Any, path: Path) -> Any:
        try:
            return hint.parse(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None

    def _plain(self, value: Any, hint: type, path: Path) -> Any:
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
            return value
        self.fail(path, f"expected {_TYPE_WORDS.get(hint, hint.__name__)}, got {_kind(value)}")
        return None

    def _sequence(self, value: Any, hint: Any, path: Path) -> Any:
        args = get_args(hint)
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_kind(value)}")
            return None
        if get_origin(hint) is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                self.fail(path, f"expected a list of exactly {len(args)} items, got {len(value)}")
                return None
            return tuple(self.convert(v, a, path + (i,)) for i, (v, a) in enumerate(zip(value, args, strict=True)))
        items = [self.convert(v, args[0], path + (i,)) for i, v in enumerate(value)]
        return tuple(items) if get_origin(hint) is tuple else items

    def _dict(self, value: Any, hint: Any, path: Path) -> Any:
        _, value_hint = get_args(hint)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return None
        result = {}
        for key, item in value.items():
            result[key] = self._with_key(item, value_hint, path + (key,), key)
        return result

    def _with_key(self, value: Any, hint: Any, path: Path, key: str) -> Any:
        if dataclasses.is_dataclass(hint) and not hasattr(hint, "parse"):
            return self._dataclass(value, hint, path, key=key)
        return self.convert(value, hint, path)

    def _dataclass(self, value: Any, cls: Any, path: Path, key: str | None = None) -> Any:
        """Build ``cls`` from a mapping. A field that fails gets its default (or None), so the
        object can still be checked for other problems; the failure is in ``problems``."""
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return None
        hints = get_type_hints(cls)
        fields = {yaml_name(f.name): f for f in dataclasses.fields(cls) if _is_yaml_field(f)}
        kwargs: dict[str, Any] = {}
        misspelt: set[str] = set()
        for name in value:
            if name not in fields:
                hint = did_you_mean(str(name), fields)
                if hint:
                    misspelt.add(hint.split("'")[1])
                self.fail(path + (name,), f"unknown field {name!r}{hint}", at_key=True)
        for yname, fld in fields.items():
            if yname in value:
                before = len(self.problems)
                converted = self.convert(value[yname], hints[fld.name], path + (yname,))
                if converted is None:  # a damaged container or object is kept: checks look inside
                    if len(self.problems) == before and not _optional(hints[fld.name]):
                        self.fail(path + (yname,), f"{yname!r} may not be empty")
                    converted = _fallback(fld)
                kwargs[fld.name] = converted
            elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                if yname not in misspelt:
                    self.fail(path, f"missing required field {yname!r}")
                kwargs[fld.name] = None
        for fld in dataclasses.fields(cls):
            if fld.metadata.get("key"):
                kwargs[fld.name] = key
        return cls(**kwargs)


def _fallback(fld: dataclasses.Field[Any]) -> Any:
    """What a field holds after its value failed: its default, else None (checks skip None)."""
    if fld.default is not dataclasses.MISSING:
        return fld.default
    if fld.default_factory is not dataclasses.MISSING:
        return fld.default_factory()
    return None


def _is_yaml_field(fld: dataclasses.Field[Any]) -> bool:
    return fld.init and not fld.metadata.get("key") and not fld.metadata.get("internal")


def _optional(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)


_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _kind(value: Any) -> str:
    """Like :func:`show_value`, but also naming the type of a scalar that has the wrong one."""
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{type(value).__name__} {value!r}"
    return show_value(value)


# --- JSON Schema -------------------------------------------------------------------------------

SchemaHook = Callable[[Any], "dict[str, Any] | None"]


def json_schema(root: type, title: str, schema_id: str) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for ``root``, with one ``$defs`` entry per dataclass."""
    defs: dict[str, Any] = {}
    body = _schema_for(root, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        **defs.pop(root.__name__),
        "$defs": dict(sorted(defs.items())),
    } if "$ref" in body else body


def _schema_for(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(hint) if a is not type(None)]
        inner = _schema_for(members[0], defs)
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    if origin in (list, tuple):
        args = get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {
                "type": "array",
                "prefixItems": [_schema_for(a, defs) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array", "items": _schema_for(args[0], defs)}
    if origin is dict:
        return {"type": ["object", "null"], "additionalProperties": _schema_for(get_args(hint)[1], defs)}
    if dataclasses.is_dataclass(hint) and not hasattr(hint, "SCHEMA"):
        name = typing.cast(type, hint).__name__
        if name not in defs:
            defs[name] = {}
            hints = get_type_hints(hint)
            props: dict[str, Any] = {}
            required = []
            for fld in dataclasses.fields(hint):
                if not _is_yaml_field(fld):
                    continue
                prop = dict(_schema_for(hints[fld.name], defs))
                if fld.metadata.get("doc"):
                    prop["description"] = fld.metadata["doc"]
                if fld.default is not dataclasses.MISSING and isinstance(fld.default, (str, int, float, bool)):
                    prop["default"] = fld.default
                props[yaml_name(fld.name)] = prop
                if fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                    required.append(yaml_name(fld.name))
            entry: dict[str, Any] = {"type": ["object", "null"], "additionalProperties": False, "properties": props}
            if required:
                entry["type"] = "object"
                entry["required"] = required
            if hint.__doc__:
                entry["description"] = " ".join(hint.__doc__.split())
            defs[name] = entry
        return {"$ref": f"#/$defs/{name}"}
    if hasattr(hint, "SCHEMA"):
        return dict(hint.SCHEMA)
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    raise TypeError(f"no JSON Schema for {hint!r}")
