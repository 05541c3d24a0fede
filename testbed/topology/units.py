"""Scalar value types of topology files: durations, percentages, bit rates, IPv4 values.

Each type parses the spelling a lab engineer writes in YAML (``10ms``, ``0.1%``, ``100mbit``)
and carries the number in one fixed unit, so that shaping code never parses strings again.
Each also describes itself as JSON Schema, which is how ``testbed schema`` stays in step
with the parser.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, ClassVar


class UnitError(ValueError):
    """A scalar that does not parse; the message says what was expected."""


_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"


@dataclass(frozen=True, order=True)
class Duration:
    """A time span, kept in microseconds (netem's native unit)."""

    us: float

    _UNITS: ClassVar[dict[str, float]] = {"us": 1.0, "ms": 1e3, "s": 1e6}
    _RE: ClassVar[re.Pattern[str]] = re.compile(rf"^{_NUMBER}\s*(us|ms|s)$")
    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "string",
        "pattern": r"^(\d+(\.\d+)?|\.\d+)\s*(us|ms|s)$",
        "description": "a duration with its unit: 500us, 10ms, 1.5s",
    }

    @classmethod
    def parse(cls, value: object) -> Duration:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UnitError(f"expected a duration such as 10ms, got {show_value(value)}")
        if isinstance(value, (int, float)):
            if value < 0:
                raise UnitError(f"a duration cannot be negative, got {value!r}")
            raise UnitError(f"duration {value!r} has no unit; write {value}ms, {value}us or {value}s")
        match = cls._RE.match(value.strip())
        if not match:
            raise UnitError(f"expected a duration such as 10ms, 500us or 1s, got {value!r}")
        return cls(float(match.group(1)) * cls._UNITS[match.group(2)])

    def __str__(self) -> str:
        if self.us >= 1e6 and self.us % 1e6 == 0:
            return f"{self.us / 1e6:g}s"
        if self.us >= 1e3:
            return f"{self.us / 1e3:g}ms"
        return f"{self.us:g}us"


@dataclass(frozen=True, order=True)
class Percent:
    """A probability written as a percentage: ``0.1%`` or a bare number meaning percent (as tc)."""

    value: float

    _RE: ClassVar[re.Pattern[str]] = re.compile(rf"^{_NUMBER}\s*%?$")
    SCHEMA: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": 100},
            {"type": "string", "pattern": r"^(\d+(\.\d+)?|\.\d+)\s*%?$"},
        ],
        "description": "a percentage from 0 to 100: 0.1% or 0.1",
    }

    @classmethod
    def parse(cls, value: object) -> Percent:
        if isinstance(value, bool):
            raise UnitError(f"expected a percentage such as 0.1%, got {show_value(value)}")
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str) and cls._RE.match(value.strip()):
            number = float(value.strip().rstrip("%").strip())
        else:
            raise UnitError(f"expected a percentage such as 0.1%, got {show_value(value)}")
        if not 0.0 <= number <= 100.0:
            raise UnitError(f"a percentage must be between 0 and 100, got {value!r}")
        return cls(number)

    def __str__(self) -> str:
        return f"{self.value:g}%"


@dataclass(frozen=True, order=True)
class Rate:
    """A bit rate, kept in bits per second.

    Only bit units are accepted: tc reads ``mbps`` as megabytes per second, a trap this
    parser refuses rather than repeats.
    """

    bps: float

    _UNITS: ClassVar[dict[str, float]] = {"bit": 1.0, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
    _RE: ClassVar[re.Pattern[str]] = re.compile(rf"^{_NUMBER}\s*(bit|kbit|mbit|gbit)$", re.IGNORECASE)
    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "string",
        "pattern": r"^(\d+(\.\d+)?|\.\d+)\s*([kKmMgG]?[bB][iI][tT])$",
        "description": "a bit rate: 500kbit, 100mbit, 1gbit (bits per second, SI prefixes)",
    }

    @classmethod
    def parse(cls, value: object) -> Rate:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UnitError(f"expected a rate such as 100mbit, got {show_value(value)}")
        if isinstance(value, (int, float)):
            if value <= 0:
                raise UnitError(f"a rate must be above zero, got {value!r}")
            raise UnitError(f"rate {value!r} has no unit; write {value}mbit, {value}kbit or {value}bit")
        text = value.strip()
        match = cls._RE.match(text)
        if not match:
            if re.match(rf"^{_NUMBER}\s*[kmg]?bps$", text, re.IGNORECASE):
                raise UnitError(
                    f"rate {value!r} is ambiguous (tc reads 'bps' as bytes per second); "
                    "write it in bits, such as 100mbit"
                )
            raise UnitError(f"expected a rate such as 100mbit, got {value!r}")
        bps = float(match.group(1)) * cls._UNITS[match.group(2).lower()]
        if bps <= 0:
            raise UnitError(f"a rate must be above zero, got {value!r}")
        return cls(bps)

    def __str__(self) -> str:
        for unit, scale in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3)):
            if self.bps >= scale:
                return f"{self.bps / scale:g}{unit}"
        return f"{self.bps:g}bit"


class IPv4Interface(ipaddress.IPv4Interface):
    """An address with its prefix length, ``10.0.0.1/30``."""

    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "string",
        "pattern": r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$",
        "description": "an IPv4 address with prefix length: 10.0.0.1/30",
    }

    @classmethod
    def parse(cls, value: object) -> IPv4Interface:
        return _parse_cidr(cls, value, "an IPv4 address with prefix length", "10.0.0.1/30",
                           "an IPv4 address with prefix length")


class IPv4Network(ipaddress.IPv4Network):
    """A network prefix whose host bits are zero, ``10.0.0.0/16``."""

    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "string",
        "pattern": r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$",
        "description": "an IPv4 network prefix: 10.20.0.0/16",
    }

    @classmethod
    def parse(cls, value: object) -> IPv4Network:
        return _parse_cidr(cls, value, "an IPv4 network", "10.20.0.0/16", "an IPv4 network prefix")


def _parse_cidr(cls: Any, value: object, expected: str, example: str, kind: str) -> Any:
    """``cls(value)`` for a string with a prefix length, or a UnitError that says what was wanted."""
    if not isinstance(value, str) or "/" not in value:
        raise UnitError(f"expected {expected} such as {example}, got {show_value(value)}")
    try:
        return cls(value.strip())
    except ValueError as exc:
        raise UnitError(f"{value!r} is not {kind}: {exc}") from None


def show_value(value: object) -> str:
    """Name a wrong value the way the YAML author would recognise it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
