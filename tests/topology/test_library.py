"""The shipped profile library: every value sourced, and usable from topologies by name."""

from __future__ import annotations

import re

import pytest

from testbed.errors import TopologyInvalid
from testbed.topology import parse_topology
from testbed.topology.library import LIBRARY_PATH, library_profiles

NAMES = ["nr-urllc-target", "nr-embb-target", "nsa-mmwave-measured", "nsa-lowband-measured",
         "sa-lowband-2021", "lte-measured", "metro-fiber", "wifi"]
VALUE_LINE = re.compile(r"^\s+(delay|jitter|loss|rate|distribution|duplicate|corrupt|reorder|limit):\s")


def topology(link: str, profiles: str = "") -> str:
    return ("name: r\nnodes: {ue: {role: sensor}, gnb: {role: router}}\n"
            + (f"profiles:\n{profiles}" if profiles else "") + f"links:\n  - {link}\n")


def test_library_has_the_named_profiles_and_loads_clean() -> None:
    assert set(NAMES) <= set(library_profiles())


def test_every_value_in_the_library_cites_a_source_or_says_assumption() -> None:
    lines = LIBRARY_PATH.read_text(encoding="utf-8").splitlines()
    values = [line for line in lines if VALUE_LINE.match(line)]
    assert len(values) > 20
    unsourced = [line for line in values
                 if not re.search(r"#.*(\[[A-Z0-9]+\]|assumption)", line) and "distribution: normal" not in line]
    assert unsourced == []


def test_uplink_and_downlink_differ_where_the_measurements_do() -> None:
    for name in ("nsa-mmwave-measured", "nsa-lowband-measured", "sa-lowband-2021", "lte-measured"):
        profile = library_profiles()[name]
        assert profile.up.rate.bps < profile.down.rate.bps, name
        assert profile.sources, name


def test_a_link_uses_a_library_profile_by_name_and_overrides_a_field() -> None:
    topo = parse_topology(topology("{endpoints: [ue, gnb], profile: lte-measured, up: {loss: 2%}}"))
    up, down = topo.impairment(topo.links[0], "up"), topo.impairment(topo.links[0], "down")
    assert (str(up.delay), str(up.rate), str(up.loss)) == ("9ms", "36mbit", "2%")
    assert (str(down.rate), str(down.loss)) == ("176mbit", "0.1%")
    assert set(topo.profiles) == {"lte-measured"}  # only what the topology uses is copied in


def test_a_local_profile_extends_a_library_one() -> None:
    topo = parse_topology(topology("{endpoints: [ue, gnb], profile: slow}",
                                   "  slow: {extends: nsa-lowband-measured, down: {rate: 5mbit}}\n"))
    down = topo.impairment(topo.links[0], "down")
    assert (str(down.delay), str(down.rate)) == ("7.5ms", "5mbit")


def test_a_local_profile_shadows_the_library_one_of_the_same_name() -> None:
    topo = parse_topology(topology("{endpoints: [ue, gnb], profile: wifi}", "  wifi: {both: {delay: 1ms}}\n"))
    assert topo.impairment(topo.links[0], "up").rate is None


def test_a_misspelt_library_profile_gets_a_suggestion() -> None:
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(topology("{endpoints: [ue, gnb], profile: lte-mesured}"), "t.yaml")
    assert info.value.problems == ["t.yaml:4:37: links[0].profile: no profile named 'lte-mesured' "
                                   "(did you mean 'lte-measured'?)"]
