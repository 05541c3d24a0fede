"""Real rigs through the plugin (root): topology markers and --topology, per-node fixtures,
teardown, --keep-up and reuse, conflicts, profiles, and --vm."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testbed.backends.netns import list_netns

# imported here, not inside a test: pytester restores sys.modules after each test, and numpy
# (under matplotlib) cannot be initialised twice in one process
from testbed.report import write_report

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.root

CHAIN = """
name: {name}
addressing: {{pool: 10.{octet}.0.0/16, prefix: 30}}
nodes:
  dev1: {{role: sensor}}
  gnb: {{role: router}}
  edge: {{role: edge}}
links:
  - {{endpoints: [dev1, gnb]{shaping}}}
  - {{endpoints: [gnb, edge]}}
"""


def chain(name: str, octet: int, shaping: str = "") -> str:
    return CHAIN.format(name=name, octet=octet, shaping=shaping)


@pytest.fixture
def tester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> pytest.Pytester:
    monkeypatch.setenv("TESTBED_RUN_DIR", str(tmp_path_factory.mktemp("run")))
    pytester.makefile(".yaml", ptchaina=chain("ptchaina", 81), ptchainb=chain("ptchainb", 82))
    return pytester


def ours() -> list[str]:
    return [ns for ns in list_netns() if ns.startswith(("tb-pt-ptchain", "tb-pt-ptshaped"))]


def test_markers_parametrise_over_topologies_and_rigs_come_down_after(tester: pytest.Pytester) -> None:
    tester.makepyfile("""
        import pytest
        @pytest.mark.topology("ptchaina.yaml", "ptchainb.yaml")
        def test_ping(rig, nodes):
            assert set(nodes) == {"dev1", "gnb", "edge"}
            assert nodes["dev1"].role == "sensor"
            done = nodes["dev1"].run(["ping", "-c", "1", "-W", "2", nodes["edge"].address])
            assert done.returncode == 0, done.stdout
            open(f"{rig.topology.name}.up", "w").write(rig.name)
    """)
    result = tester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_ping?ptchaina? PASSED*", "*test_ping?ptchainb? PASSED*"])
    assert (tester.path / "ptchaina.up").read_text() == "pt-ptchaina"
    assert ours() == []


def test_topology_option_gives_a_fixture_per_node_and_overrides_markers(tester: pytest.Pytester) -> None:
    tester.makepyfile("""
        import pytest
        @pytest.mark.topology("ptchainb.yaml")
        def test_nodes(rig, dev1, edge):
            assert rig.topology.name == "ptchaina"
            assert dev1.run(["ping", "-c", "1", "-W", "2", edge.address]).returncode == 0
            assert repr(edge) == "<node edge of rig pt-ptchaina>"
    """)
    result = tester.runpytest_subprocess("-p", "no:cacheprovider", "--topology", "ptchaina.yaml")
    result.assert_outcomes(passed=1)
    assert ours() == []


def test_keep_up_leaves_the_rig_and_the_next_session_reuses_it(tester: pytest.Pytester) -> None:
    from testbed.backends.emulated import down_rig

    tester.makepyfile("""
        import pytest
        @pytest.mark.topology("ptchaina.yaml")
        def test_up(rig):
            with open("run_ids", "a") as f:
                f.write(rig.state["run_id"] + "\\n")
    """)
    try:
        first = tester.runpytest_subprocess("-p", "no:cacheprovider", "--keep-up")
        first.assert_outcomes(passed=1)
        first.stdout.fnmatch_lines(["*rig pt-ptchaina kept up*testbed down --rig pt-ptchaina*"])
        assert len(ours()) == 3
        second = tester.runpytest_subprocess("-p", "no:cacheprovider")
        second.assert_outcomes(passed=1)
        ids = (tester.path / "run_ids").read_text().split()
        assert len(ids) == 2 and ids[0] == ids[1]  # the same rig, not a new one
        assert ours() == []  # the second session did not keep it
    finally:
        if ours():
            down_rig("pt-ptchaina")


def test_a_rig_of_that_name_from_another_file_is_a_conflict_left_alone(tester: pytest.Pytester) -> None:
    from testbed.backends.emulated import EmulatedRig
    from testbed.topology import load_topology

    other = tester.makefile(".yaml", other=chain("ptchaina", 83))
    rig = EmulatedRig.up(load_topology(other), "pt-ptchaina")
    try:
        tester.makepyfile("""
            import pytest
            @pytest.mark.topology("ptchaina.yaml")
            def test_up(rig):
                pass
        """)
        result = tester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*rig 'pt-ptchaina'*is already up, not made by this plugin*"
                                     "testbed down --rig pt-ptchaina*"])
        assert rig.is_live("dev1")  # untouched
    finally:
        rig.down()


def test_vm_never_skips_shaped_rigs_on_a_kernel_without_netem(tester: pytest.Pytester) -> None:
    from testbed.host import kernel_supports_netem

    if kernel_supports_netem():
        pytest.skip("this kernel has netem: the shaped rig would come up")
    tester.makefile(".yaml", ptshaped=chain("ptshaped", 84, ", both: {delay: 5ms}"))
    tester.makepyfile("""
        import pytest
        @pytest.mark.topology("ptshaped.yaml")
        def test_up(rig):
            pass
    """)
    result = tester.runpytest_subprocess("-p", "no:cacheprovider", "--vm", "never", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*topology ptshaped.yaml shapes its links and this kernel has no sch_netem*"])


@pytest.mark.vm
def test_vm_auto_runs_the_session_inside_a_vm_when_tests_need_netem(tester: pytest.Pytester) -> None:
    from testbed.host import kernel_supports_netem
    from testbed.vm import vm_unavailable_reason

    if kernel_supports_netem() or os.environ.get("TESTBED_IN_VM"):
        pytest.skip("this kernel has netem: nothing to run in a VM")
    if vm_unavailable_reason():
        pytest.skip(vm_unavailable_reason())
    tester.makefile(".yaml", ptshaped=chain("ptshaped", 85, ", both: {delay: 5ms}"))
    tester.makepyfile("""
        import os, re, pytest
        @pytest.mark.topology("ptshaped.yaml")
        def test_shaped(rig, nodes, measurements):
            assert os.environ.get("TESTBED_IN_VM")
            out = nodes["dev1"].run(["ping", "-c", "3", "-i", "0.2", nodes["edge"].address]).stdout
            avg = float(re.search(r"= [\\d.]+/([\\d.]+)/", out).group(1))
            measurements.record("rtt", avg, "ms", low=10)
    """)
    result = tester.runpytest_subprocess("-p", "no:cacheprovider", "--vm", "auto", "--results", "out",
                                         timeout=600)
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*need netem and this kernel has none: running this session inside a VM*",
                                 "*1 passed*"])
    doc = json.loads((Path(tester.path) / "out" / "results.json").read_text())
    assert doc["host"]["in_vm"] and doc["tests"][0]["measurements"][0]["value"] >= 10


@pytest.mark.netem
def test_profile_marker_shapes_the_access_links_and_restores_them(tester: pytest.Pytester) -> None:
    tester.makepyfile("""
        import pytest
        @pytest.mark.topology("ptchaina.yaml")
        @pytest.mark.profile("lte-measured", "nr-urllc-target")
        def test_profiled(rig, link_profile):
            assert link_profile.links == ("dev1-gnb",)
            now = rig.shaping("dev1-gnb")
            # netlink carries delays in scheduler ticks: 0.5 ms may read back as 0.499 ms
            assert abs(now["up"].delay.us - link_profile.up.delay.us) <= 1.0
            assert now["down"].rate == link_profile.down.rate
            assert rig.shaping("gnb-edge")["up"] is None

        @pytest.mark.topology("ptchaina.yaml")
        def test_after(rig):
            assert rig.shaping("dev1-gnb") == {"up": None, "down": None}
    """)
    result = tester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--basetemp=/dev/shm/pt-inner")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_profiled?ptchaina-lte-measured? PASSED*"])


def test_a_rig_from_the_tests_own_fixture_is_described_in_the_results(tester: pytest.Pytester) -> None:
    tester.makepyfile("""
        import pytest
        from testbed.backends.emulated import EmulatedRig
        from testbed.topology import load_topology

        @pytest.fixture(scope="module")
        def rig():
            made = EmulatedRig.up(load_topology("ptchainb.yaml"), "own-rig")
            yield made
            made.down()

        def test_own(rig, measurements):
            measurements.record("x", 1, "ms")
    """)
    result = tester.runpytest_subprocess("-p", "no:cacheprovider", "--results", "out")
    result.assert_outcomes(passed=1)
    doc = json.loads((tester.path / "out" / "results.json").read_text())
    assert doc["tests"][0]["topology"] == "ptchainb" and doc["topologies"]["ptchainb"]["rig"] == "own-rig"
    assert write_report(tester.path / "out").exists()
