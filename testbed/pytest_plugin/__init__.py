"""The testbed pytest plugin (entry point ``pytest11``: active wherever this package is installed).

    pytest --topology topologies/ward.yaml --results out tests/e2e
    testbed report out

Fixtures: ``rig`` (session: the rig of the test's topology, brought up once, taken down when
the last test using it is done unless --keep-up), one fixture per node of the --topology
file by its name and ``nodes`` (name -> NodeHandle), ``measurements`` (a Recorder: record
figures with units and limits; a broken limit fails the test after its body ran, quoting the
figure), ``link_profile`` (the ActiveProfile of a @pytest.mark.profile test, else None).
Markers: ``topology``, ``profile``, ``needs`` (see ``pytest --markers``). Options: see the
"testbed" group of ``pytest --help``.
"""

from __future__ import annotations

import shlex
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..backends.emulated import EmulatedRig
from ..measure.measurement import Recorder
from ..measure.results import ResultsWriter
from ..topology import Topology
from .capabilities import missing, skip_unless_capable
from .nodes import NodeHandle, register_node_fixtures
from .options import MARKERS, add_options
from .profiles import ActiveProfile, applied, profile_names
from .rigs import RigPool, _loaded, is_shaped, resolve_topology
from .session import PROFILE, RECORDER, TOPOLOGY, TestbedSession
from .vm import rerun_in_vm, should_rerun_in_vm

__all__ = ["ActiveProfile", "NodeHandle"]

SESSION = pytest.StashKey[TestbedSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)  # before junitxml reads --junitxml, so --results can default it
def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    results = config.getoption("results")
    results_dir = (Path(config.invocation_params.dir) / results).resolve() if results else None
    if results_dir is not None and not config.getoption("xmlpath", None):
        results_dir.mkdir(parents=True, exist_ok=True)
        config.option.xmlpath = str(results_dir / "junit.xml")
    command = shlex.join(["pytest", *config.invocation_params.args])
    writer = ResultsWriter(results_dir, command) if results_dir is not None else None
    config.stash[SESSION] = TestbedSession(RigPool(config.getoption("keep_up")), writer, results_dir)
    topology = config.getoption("topology")
    if topology:
        path = resolve_topology(topology, config, Path(config.invocation_params.dir))
        register_node_fixtures(config, list(_loaded(str(path)).nodes))


def _our_rig_fixture(metafunc: pytest.Metafunc) -> bool:
    """Whether ``rig`` resolves to this plugin's fixture (a test module may define its own)."""
    defs = getattr(metafunc, "_arg2fixturedefs", {}).get("rig")
    return bool(defs) and defs[-1].func is rig.__wrapped__  # type: ignore[attr-defined,index]


def _topologies(config: pytest.Config, definition: pytest.Item) -> list[Path]:
    option = config.getoption("topology")
    if option:
        return [resolve_topology(option, config, Path(config.invocation_params.dir))]
    marker = definition.get_closest_marker("topology")
    if marker is None:
        return []
    if not marker.args:
        raise pytest.UsageError(f"{definition.nodeid}: @pytest.mark.topology needs at least one file")
    return [resolve_topology(str(spec), config) for spec in marker.args]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rig" in metafunc.fixturenames and _our_rig_fixture(metafunc):
        paths = _topologies(metafunc.config, metafunc.definition)
        if paths:
            metafunc.parametrize("rig", [str(p) for p in paths], indirect=True, scope="session",
                                 ids=[_loaded(str(p)).name for p in paths])
    marker = metafunc.definition.get_closest_marker("profile")
    if marker is not None and "link_profile" in metafunc.fixturenames:
        names = profile_names(marker)
        metafunc.parametrize("link_profile", names, indirect=True, ids=names)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    why = should_rerun_in_vm(config, items)
    if why is not None:
        code = rerun_in_vm(config, why)
        config.stash[SESSION].writer = None  # the VM's session wrote the results
        pytest.exit(f"the session ran inside the VM (exit code {code})", returncode=code)


def pytest_runtest_setup(item: pytest.Item) -> None:
    skip_unless_capable(item)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rig(request: pytest.FixtureRequest) -> Iterator[EmulatedRig]:
    """The rig of this test's topology (--topology, else @pytest.mark.topology), up for the session."""
    spec = getattr(request, "param", None)
    if spec is None:
        pytest.skip("no topology for this test: pass --topology FILE or mark it @pytest.mark.topology('FILE')")
    if missing("root"):
        pytest.skip(f"rig {Path(spec).name}: {missing('root')}")
    if is_shaped(spec) and missing("netem"):
        pytest.skip(f"topology {Path(spec).name} shapes its links and {missing('netem')}")
    state = request.config.stash[SESSION]
    entry = state.pool.get(Path(spec))
    if state.writer is not None:
        state.writer.add_topology(entry.topology, entry.path, entry.rig.name)
    yield entry.rig
    state.pool.release(Path(spec))


@pytest.fixture(scope="session")
def nodes(rig: EmulatedRig) -> dict[str, NodeHandle]:
    """Every node of the rig by name."""
    return {n["name"]: NodeHandle(rig, n["name"]) for n in rig.state["nodes"]}


@pytest.fixture(autouse=True)
def link_profile(request: pytest.FixtureRequest) -> Generator[ActiveProfile | None, None, None]:
    """The profile a @pytest.mark.profile test runs under (applied to the access links), else None."""
    name = getattr(request, "param", None)
    if name is None:
        yield None
        return
    reason = missing("netem")
    if reason:
        pytest.skip(f"profile {name}: {reason}")
    current = request.getfixturevalue("rig")
    marker = request.node.get_closest_marker("profile")
    request.node.stash[PROFILE] = name
    yield from applied(current, name, marker.kwargs.get("links") if marker else None)


@pytest.fixture
def measurements(request: pytest.FixtureRequest) -> Recorder:
    """Record figures with units and limits; they go to JUnit properties and results.json."""
    defaults: dict[str, Any] = {}
    if "rig" in request.fixturenames:
        topo = request.getfixturevalue("rig").topology
        if topo is not None:
            defaults["topology"] = topo.name
    active = request.getfixturevalue("link_profile")
    if active is not None:
        defaults["profile"] = active.name
    recorder = Recorder(defaults)
    request.node.stash[RECORDER] = recorder
    return recorder


# --- verdicts and reporting -------------------------------------------------------------------


class MeasurementFailed(AssertionError):
    """One or more measurements broke their limits."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    __tracebackhide__ = True  # a broken limit is reported by its figure, not by this hook's frame
    try:
        result = yield
    finally:
        recorder = item.stash.get(RECORDER, None)
        if recorder is not None:
            for m in recorder.measurements:
                item.user_properties.append((m.name, "" if m.value is None else f"{m.value:.6g}"))
                item.user_properties.append((f"{m.name}.unit", m.unit))
                item.user_properties.append((f"{m.name}.outcome", m.outcome.value))
                if not m.limits.empty:
                    item.user_properties.append((f"{m.name}.limits", m.limits.describe(m.unit)))
    failed = recorder.failed() if recorder is not None else []
    if failed:
        raise MeasurementFailed("; ".join(m.verdict() for m in failed))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    funcargs = getattr(item, "funcargs", {})
    current = funcargs.get("rig")
    state = item.config.stash[SESSION]
    if isinstance(current, EmulatedRig) and current.topology is not None:
        name = _described(state, current, current.topology)
        if name is not None:
            item.stash[TOPOLOGY] = name
    state.on_report(item, report)
    return report


def _described(state: TestbedSession, rig: EmulatedRig, topo: Topology) -> str | None:
    """The topology's name once results.json describes it (a rig from a test's own fixture is
    described here); None when it cannot be, so no test points at a topology the file lacks."""
    if state.writer is None or topo.name in state.writer.topologies:
        return topo.name
    source = Path(topo.source) if topo.source else None
    if source is None or not source.is_file():
        return None
    state.writer.add_topology(topo, source.resolve(), rig.name)
    return topo.name


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(SESSION, None)
    if state is None:
        return
    if state.measurements:
        counts: dict[str, int] = {}
        for _, m in state.measurements:
            counts[m.outcome.value] = counts.get(m.outcome.value, 0) + 1
        terminalreporter.section("testbed measurements")
        terminalreporter.write_line(f"{len(state.measurements)} measurements: "
                                    + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        for nodeid, m in state.measurements:
            if m.outcome.value in ("marginal", "fail"):
                terminalreporter.write_line(f"{m.outcome.value.upper():8} {m.verdict()}  ({nodeid})")
    if state.writer is not None:
        state.writer.flush(finished=True)
        terminalreporter.write_line(f"testbed: results in {state.writer.path}; render them with: "
                                    f"testbed report {state.results_dir}")
    if state.pool.kept:
        for entry in state.pool.kept:
            terminalreporter.write_line(f"testbed: rig {entry.rig.name} kept up ({entry.path}); "
                                        f"`testbed status --rig {entry.rig.name}`, "
                                        f"`testbed down --rig {entry.rig.name}`")
