"""Live changes to a link's shaping, given as field=value pairs and merged over what it does.

Changes merge instead of replacing (a change of delay keeps the loss), which is what people
expect and what containerlab's ``netem set`` does not do. Values are written as in a
topology file and checked by the same converter and the same netem rules.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import TestbedError
from ..topology.checks import impairment_rules
from ..topology.model import Impairment
from ..topology.strict import Converter, describe_path


class BadShapingChange(TestbedError):
    """A change names an unknown field, a bad value, or breaks a netem rule."""

    exit_code = 2


def impairment_from_dict(data: dict[str, Any], what: str) -> Impairment:
    """An impairment from YAML-shaped data (as kept in a rig's state), strictly checked."""
    converter = Converter()
    imp = converter.convert(data, Impairment, ())
    if converter.problems:
        raise BadShapingChange(f"{what}: " + "; ".join(f"{describe_path(p.path)}: {p.message}"
                                                       for p in converter.problems))
    return imp


def merge_changes(current: dict[str, Any], changes: dict[str, object], what: str) -> Impairment:
    """``current`` (YAML names) with ``changes`` applied: keys with '_' or '-', None removes."""
    merged = dict(current)
    for key, value in changes.items():
        name = key.replace("_", "-")
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}  # gemodel.p=... changes one field of the block
        else:
            merged[name] = value
    imp = impairment_from_dict(merged, what)
    broken = impairment_rules(imp)
    if broken:
        raise BadShapingChange(f"{what}: " + "; ".join(message for _, message in broken))
    return imp


def parse_assignments(pairs: list[str]) -> dict[str, object]:
    """``delay=20ms loss=1% ecn=true rate=`` -> a changes mapping ('key=' removes the field).

    Values are read as YAML scalars (numbers, booleans), dotted keys reach into blocks:
    ``gemodel.p=1%``, ``slot.min=1ms``.
    """
    changes: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise BadShapingChange(f"expected field=value, got {pair!r} (for example delay=20ms; 'loss=' removes loss)")
        value: object = None if text == "" else yaml.safe_load(text)
        if isinstance(value, (dict, list)):
            raise BadShapingChange(f"{key}: give one value, not {text!r}; use dotted keys for blocks: gemodel.p=1%")
        head, _, rest = key.partition(".")
        if rest:
            block = changes.setdefault(head, {})
            if not isinstance(block, dict):
                raise BadShapingChange(f"{head} is given both as a value and as a block")
            block[rest] = value
        else:
            changes[key] = value
    return changes
