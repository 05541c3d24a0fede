"""Read a results directory (``testbed-results/1``) into dataclasses, checking every field.

The report must never render half-understood data: any field of the wrong type, a wrong
format tag or a missing series file stops loading with a message that names the file and the
JSON path of the field, e.g. ``out/results.json: tests[3].measurements[0].unit: expected a
string, got 5``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ResultsInvalid, ResultsNotFound

FORMAT = "testbed-results/1"
TEST_OUTCOMES = ("passed", "failed", "skipped", "error")
MEASUREMENT_OUTCOMES = ("pass", "marginal", "fail", "unset")

Label = str | int | float


@dataclass(frozen=True)
class Host:
    kernel: str
    in_vm: bool
    python: str


@dataclass(frozen=True)
class Topology:
    name: str
    path: str
    sha256: str
    nodes: int
    links: int
    dot: str


@dataclass(frozen=True)
class Limits:
    low: float | None
    high: float | None
    marginal_low: float | None
    marginal_high: float | None


@dataclass(frozen=True)
class Distribution:
    count: int
    min: float
    max: float
    mean: float
    stdev: float
    percentiles: dict[str, float]

    def percentile(self, q: float) -> float | None:
        """The stored percentile ``q`` (keys may be written "99" or "99.0"), or None."""
        for key, value in self.percentiles.items():
            if float(key) == q:
                return value
        return None


@dataclass(frozen=True)
class Series:
    path: str
    name: str
    unit: str
    t_s: list[float] | None
    values: list[float]


@dataclass(frozen=True)
class Measurement:
    name: str
    unit: str
    outcome: str
    value: float | None
    statistic: str | None
    limits: Limits | None
    labels: dict[str, Label]
    description: str | None
    distribution: Distribution | None
    series: Series | None

    def number_label(self, key: str) -> float | None:
        """A label that should hold a number (``load``, ``configured``...), as a float, or None."""
        raw = self.labels.get(key)
        if raw is None or isinstance(raw, bool):
            return None
        try:
            number = float(raw)
        except ValueError:
            return None
        return number if math.isfinite(number) else None


@dataclass(frozen=True)
class TestRecord:
    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    outcome: str
    marginal: bool
    duration_s: float
    topology: str | None
    profile: str | None
    message: str | None
    measurements: list[Measurement]


@dataclass(frozen=True)
class Results:
    source: str
    started_utc: str
    finished_utc: str
    host: Host
    command: str
    topologies: dict[str, Topology]
    tests: list[TestRecord]


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Field:
    """One JSON value and where it sits, so each complaint can name file and path."""

    def __init__(self, source: str, path: str, value: Any) -> None:
        self.source, self.path, self.value = source, path, value

    def fail(self, problem: str) -> ResultsInvalid:
        where = f"{self.source}: {self.path}: " if self.path else f"{self.source}: "
        return ResultsInvalid(where + problem)

    def _expect(self, ok: bool, what: str) -> Any:
        if not ok:
            raise self.fail(f"expected {what}, got {_describe(self.value)}")
        return self.value

    def key(self, name: str) -> _Field:
        obj = self.obj()
        path = f"{self.path}.{name}" if self.path else name
        if name not in obj:
            raise _Field(self.source, path, None).fail("missing")
        return _Field(self.source, path, obj[name])

    def obj(self) -> dict[str, Any]:
        return self._expect(isinstance(self.value, dict), "an object")  # type: ignore[no-any-return]

    def items(self) -> list[tuple[str, _Field]]:
        return [(k, _Field(self.source, f"{self.path}.{k}", v)) for k, v in self.obj().items()]

    def elements(self) -> list[_Field]:
        seq = self._expect(isinstance(self.value, list), "a list")
        return [_Field(self.source, f"{self.path}[{i}]", v) for i, v in enumerate(seq)]

    def text(self) -> str:
        return self._expect(isinstance(self.value, str), "a string")  # type: ignore[no-any-return]

    def opt_text(self) -> str | None:
        return None if self.value is None else self._expect(isinstance(self.value, str), "a string or null")

    def flag(self) -> bool:
        return self._expect(isinstance(self.value, bool), "true or false")  # type: ignore[no-any-return]

    def whole(self) -> int:
        ok = isinstance(self.value, int) and not isinstance(self.value, bool)
        return self._expect(ok, "a whole number")  # type: ignore[no-any-return]

    def number(self) -> float:
        return float(self._expect(_is_number(self.value), "a number"))

    def opt_number(self) -> float | None:
        return None if self.value is None else float(self._expect(_is_number(self.value), "a number or null"))

    def choice(self, allowed: tuple[str, ...]) -> str:
        text = self.text()
        if text not in allowed:
            raise self.fail(f"expected one of {', '.join(allowed)}, got {_describe(text)}")
        return text

    def numbers(self) -> list[float]:
        """A list of numbers; checked in bulk since series can hold many thousands."""
        seq = self._expect(isinstance(self.value, list), "a list")
        if not all(_is_number(v) for v in seq):
            index = next(i for i, v in enumerate(seq) if not _is_number(v))
            raise _Field(self.source, f"{self.path}[{index}]", seq[index]).fail(
                f"expected a number, got {_describe(seq[index])}")
        return [float(v) for v in seq]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_results(results_dir: Path) -> Results:
    """Read and check ``results_dir/results.json`` and every series file it names."""
    if not results_dir.is_dir():
        raise ResultsNotFound(f"{results_dir}: no such results directory (write one with: pytest --results DIR)")
    path = results_dir / "results.json"
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = f"is {results_dir} a directory written by pytest --results?"
        raise ResultsNotFound(f"{source}: not found; {hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsInvalid(f"{source}: cannot read: {exc}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsInvalid(f"{source}: not valid JSON: {exc}") from exc
    root = _Field(source, "", raw)
    root.obj()
    fmt = root.key("format")
    if fmt.value != FORMAT:
        raise fmt.fail(f"expected {_describe(FORMAT)}, got {_describe(fmt.value)}")
    started, finished = root.key("started_utc").text(), root.key("finished_utc").text()
    host = root.key("host")
    host_info = Host(host.key("kernel").text(), host.key("in_vm").flag(), host.key("python").text())
    command = root.key("command").text()
    topologies = {name: _topology(name, field) for name, field in root.key("topologies").items()}
    tests = [_test(field, topologies, results_dir) for field in root.key("tests").elements()]
    return Results(source, started, finished, host_info, command, topologies, tests)


def _topology(name: str, field: _Field) -> Topology:
    return Topology(name, field.key("path").text(), field.key("sha256").text(), field.key("nodes").whole(),
                    field.key("links").whole(), field.key("dot").text())


def _test(field: _Field, topologies: dict[str, Topology], results_dir: Path) -> TestRecord:
    topology = field.key("topology")
    if topology.opt_text() is not None and topology.value not in topologies:
        raise topology.fail(f"{_describe(topology.value)} is not a key of topologies")
    return TestRecord(
        nodeid=field.key("nodeid").text(),
        outcome=field.key("outcome").choice(TEST_OUTCOMES),
        marginal=field.key("marginal").flag(),
        duration_s=field.key("duration_s").number(),
        topology=topology.value,
        profile=field.key("profile").opt_text(),
        message=field.key("message").opt_text(),
        measurements=[_measurement(m, results_dir) for m in field.key("measurements").elements()],
    )


def _measurement(field: _Field, results_dir: Path) -> Measurement:
    return Measurement(
        name=field.key("name").text(),
        unit=field.key("unit").text(),
        outcome=field.key("outcome").choice(MEASUREMENT_OUTCOMES),
        value=field.key("value").opt_number(),
        statistic=field.key("statistic").opt_text(),
        limits=_limits(field.key("limits")),
        labels={key: _label(value) for key, value in field.key("labels").items()},
        description=field.key("description").opt_text(),
        distribution=_distribution(field.key("distribution")),
        series=_series(field.key("series"), results_dir),
    )


def _limits(field: _Field) -> Limits | None:
    if field.value is None:
        return None
    return Limits(*(field.key(k).opt_number() for k in ("low", "high", "marginal_low", "marginal_high")))


def _label(field: _Field) -> Label:
    if isinstance(field.value, str) or _is_number(field.value):
        return field.value  # type: ignore[no-any-return]
    raise field.fail(f"expected a string or a number, got {_describe(field.value)}")


def _distribution(field: _Field) -> Distribution | None:
    if field.value is None:
        return None
    percentiles = {}
    for key, value in field.key("percentiles").items():
        try:
            float(key)
        except ValueError:
            raise value.fail("the key is not a percentile (a number such as 99 or 99.9)") from None
        percentiles[key] = value.number()
    return Distribution(field.key("count").whole(), field.key("min").number(), field.key("max").number(),
                        field.key("mean").number(), field.key("stdev").number(), percentiles)


def _series(field: _Field, results_dir: Path) -> Series | None:
    relative = field.opt_text()
    if relative is None:
        return None
    path = results_dir / relative
    if Path(relative).is_absolute() or not path.resolve().is_relative_to(results_dir.resolve()):
        raise field.fail(f"{_describe(relative)} is not a path inside the results directory")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise field.fail(f"series file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise field.fail(f"cannot read series file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise field.fail(f"series file {path} is not valid JSON: {exc}") from exc
    root = _Field(str(path), "", raw)
    values = root.key("values").numbers()
    t_field = root.key("t_s")
    t_s = None if t_field.value is None else t_field.numbers()
    if t_s is not None and len(t_s) != len(values):
        raise t_field.fail(f"has {len(t_s)} entries but values has {len(values)}")
    return Series(relative, root.key("name").text(), root.key("unit").text(), t_s, values)
