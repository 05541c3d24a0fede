"""The topology loader: every class of problem with its exact file:line:column, and the happy path."""

from __future__ import annotations

import ipaddress
import textwrap

import pytest

from testbed.errors import TestbedError, TopologyInvalid
from testbed.topology import load_topology, parse_topology
from testbed.topology.model import Endpoint, Impairment
from testbed.topology.units import Duration, Percent, Rate


def y(text: str) -> str:
    return textwrap.dedent(text)


def problems_of(text: str) -> list[str]:
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(y(text), "t.yaml")
    assert info.value.source == "t.yaml"
    return info.value.problems


def only_problem(text: str) -> str:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


def load(text: str):
    return parse_topology(y(text), "t.yaml")


# --- the error object --------------------------------------------------------------------------


def test_topology_invalid_counts_problems_in_its_message_and_has_exit_code_3():
    with pytest.raises(TopologyInvalid) as info:
        parse_topology("name: r\nnodes:\n  a: {}\n  b: {}\n", "t.yaml")
    err = info.value
    assert isinstance(err, TestbedError)
    assert err.exit_code == 3
    assert str(err).splitlines() == [
        "t.yaml: 2 problems",
        "t.yaml:3:6: nodes.a: missing required field 'role'",
        "t.yaml:4:6: nodes.b: missing required field 'role'",
    ]


def test_default_source_name_is_string_placeholder():
    with pytest.raises(TopologyInvalid) as info:
        parse_topology("nodes: {}\n")
    assert info.value.problems == ["<string>:1:1: (document): missing required field 'name'"]


# --- documents that are not topologies ---------------------------------------------------------


def test_load_topology_on_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(TopologyInvalid) as info:
        load_topology(path)
    assert info.value.problems == [f"{path}: no such file"]
    assert info.value.source == str(path)


def test_load_topology_on_empty_file_says_the_document_is_empty(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(TopologyInvalid) as info:
        load_topology(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:1:1: the document is empty;")
    assert "'name' and 'nodes'" in problem


def test_load_topology_on_a_list_says_the_document_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- name: r\n- nodes: {}\n")
    with pytest.raises(TopologyInvalid) as info:
        load_topology(str(path))
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:1:1: the document is not a mapping;")


def test_load_topology_on_a_directory_says_it_cannot_read(tmp_path):
    with pytest.raises(TopologyInvalid) as info:
        load_topology(tmp_path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path}: cannot read:")


def test_load_topology_on_non_utf8_file_says_it_cannot_read(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: r\ndescription: caf\xe9\n")
    with pytest.raises(TopologyInvalid) as info:
        load_topology(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: cannot read:")
    assert "utf-8" in problem


def test_load_topology_reads_a_good_file_and_records_its_source(tmp_path):
    path = tmp_path / "rig.yaml"
    path.write_text("name: rig\nnodes:\n  a: {role: sensor}\n  b: {role: edge}\nlinks:\n  - endpoints: [a, b]\n")
    topo = load_topology(path)
    assert topo.name == "rig"
    assert topo.source == str(path)
    assert [link.name for link in topo.links] == ["a-b"]


def test_scalar_document_is_not_a_mapping():
    assert only_problem("just text\n").startswith("t.yaml:1:1: the document is not a mapping;")


def test_comment_only_document_is_empty():
    assert only_problem("# nothing\n").startswith("t.yaml:1:1: the document is empty;")


def test_yaml_syntax_error_is_reported_with_its_position():
    problem = only_problem("""\
        name: r
        nodes:
          a: {role: edge
        """)
    assert problem.startswith("t.yaml:4:1: not valid YAML: ")


def test_python_tag_on_a_scalar_is_refused_with_its_position():
    problem = only_problem("""\
        name: r
        nodes:
          a: {role: !!python/name:os.system ''}
        """)
    assert problem.startswith("t.yaml:3:13: not valid YAML: could not determine a constructor for the tag")


def test_python_object_tag_on_a_mapping_is_refused():
    problem = only_problem("""\
        name: r
        nodes:
          a: !!python/object:os.system {role: edge}
        """)
    assert problem.startswith("t.yaml:3:6: the tag 'tag:yaml.org,2002:python/object:os.system' is not allowed")


def test_error_in_a_value_overriding_a_merge_key_points_at_the_override():
    problem = only_problem("""\
        name: r
        nodes:
          a: &n {role: edge, forwarding: true}
          b:
            <<: *n
            forwarding: 1
        """)
    assert problem == "t.yaml:6:17: nodes.b.forwarding: expected true or false, got int 1"


@pytest.mark.timeout(5)
def test_self_merging_mapping_is_a_problem_or_loads_but_does_not_crash():
    try:
        topo = parse_topology("name: r\nnodes: &n {a: {role: edge}, <<: *n}\n", "t.yaml")
    except TopologyInvalid:
        return
    assert list(topo.nodes) == ["a"]


# --- unknown keys ------------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_closest_field():
    problem = only_problem("""\
        name: r
        nodse:
          a: {role: edge}
        """)
    assert problem == "t.yaml:2:1: nodse: unknown field 'nodse' (did you mean 'nodes'?)"


def test_unknown_node_key_suggests_closest_field():
    problem = only_problem("""\
        name: r
        nodes:
          a:
            role: edge
            forwardng: true
        """)
    assert problem == "t.yaml:5:5: nodes.a.forwardng: unknown field 'forwardng' (did you mean 'forwarding'?)"


def test_unknown_node_key_far_from_any_field_has_no_suggestion():
    problem = only_problem("""\
        name: r
        nodes:
          a:
            role: edge
            ip: 10.0.0.1
        """)
    assert problem == "t.yaml:5:5: nodes.a.ip: unknown field 'ip'"
    assert "did you mean" not in problem


def test_unknown_impairment_key_suggests_closest_field():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            both:
              dealy: 10ms
        """)
    assert problem == "t.yaml:6:7: links[0].both.dealy: unknown field 'dealy' (did you mean 'delay'?)"


def test_unknown_key_in_flow_mapping_points_at_the_key():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - {endpoints: [a, b], up: {rate: 10mbit, burst: 10k}}
        """)
    assert problem == "t.yaml:4:44: links[0].up.burst: unknown field 'burst'"


def test_node_name_key_is_not_a_yaml_field_of_the_node():
    problem = only_problem("""\
        name: r
        nodes:
          a:
            name: a
            role: edge
        """)
    assert problem.startswith("t.yaml:4:5: nodes.a.name: unknown field 'name'")


def test_internal_source_field_is_not_accepted_from_yaml():
    problem = only_problem("""\
        name: r
        source: elsewhere.yaml
        """)
    assert problem.startswith("t.yaml:2:1: source: unknown field 'source'")


# --- wrong types -------------------------------------------------------------------------------


def test_string_where_mapping_expected_is_refused():
    problem = only_problem("""\
        name: r
        nodes:
          a: edge
        """)
    assert problem == "t.yaml:3:6: nodes.a: expected a mapping, got the string 'edge'"


def test_string_for_the_nodes_mapping_is_refused():
    problem = only_problem("""\
        name: r
        nodes: a, b
        """)
    assert problem == "t.yaml:2:8: nodes: expected a mapping, got the string 'a, b'"


def test_list_where_string_expected_is_refused():
    problem = only_problem("""\
        name: [r, s]
        nodes: {}
        """)
    assert problem == "t.yaml:1:7: name: expected a string, got a list"


def test_bool_where_int_expected_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            mtu: true
        """)
    assert problem == "t.yaml:5:10: links[0].mtu: expected an integer, got the boolean true"


def test_number_where_bool_expected_is_refused():
    problem = only_problem("""\
        name: r
        nodes:
          a: {role: edge, forwarding: 1}
        """)
    assert problem == "t.yaml:3:31: nodes.a.forwarding: expected true or false, got int 1"


def test_mapping_where_list_expected_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}}
        links:
          a: b
        """)
    assert problem == "t.yaml:4:3: links: expected a list, got a mapping"


def test_null_links_is_refused_but_null_nodes_is_empty():
    problem = only_problem("""\
        name: r
        nodes:
        links:
        """)
    assert problem == "t.yaml:3:7: links: expected a list, got nothing (null)"


def test_unit_error_is_reported_at_the_value():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            up:
              delay: 10
        """)
    assert problem.startswith("t.yaml:6:14: links[0].up.delay: duration 10 has no unit")


def test_ambiguous_rate_is_reported_at_the_value():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            up:
              rate: 100mbps
        """)
    assert problem.startswith("t.yaml:6:13: links[0].up.rate: rate '100mbps' is ambiguous")


def test_percent_out_of_range_is_reported_at_the_value():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            down: {loss: 150%}
        """)
    assert problem == "t.yaml:5:18: links[0].down.loss: a percentage must be between 0 and 100, got '150%'"


def test_bad_endpoint_spelling_is_reported_at_the_endpoint():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, "b:"]
        """)
    assert problem == "t.yaml:4:20: links[0].endpoints[1]: expected an endpoint such as 'edge' or 'edge:eth0', got 'b:'"


# --- missing fields ----------------------------------------------------------------------------


def test_missing_role_is_reported_at_the_node():
    problem = only_problem("""\
        name: r
        nodes:
          a:
            description: a node without a role
        """)
    assert problem == "t.yaml:4:5: nodes.a: missing required field 'role'"


def test_missing_name_is_reported_at_the_document():
    assert only_problem("nodes: {}\n") == "t.yaml:1:1: (document): missing required field 'name'"


def test_missing_endpoints_is_reported_at_the_link():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}}
        links:
          - name: x
        """)
    assert problem == "t.yaml:4:5: links[0]: missing required field 'endpoints'"


def test_misspelt_required_field_is_reported_only_as_unknown_key():
    problem = only_problem("""\
        name: r
        nodes:
          a:
            rol: edge
        """)
    assert problem == "t.yaml:4:5: nodes.a.rol: unknown field 'rol' (did you mean 'role'?)"


def test_unrelated_unknown_key_does_not_hide_missing_required_field():
    found = problems_of("""\
        name: r
        nodes:
          a:
            kind: edge
        """)
    assert found == [
        "t.yaml:4:5: nodes.a.kind: unknown field 'kind'",
        "t.yaml:4:5: nodes.a: missing required field 'role'",
    ]


# --- enums -------------------------------------------------------------------------------------


def test_bad_role_suggests_closest_choice():
    problem = only_problem("""\
        name: r
        nodes:
          a:
            role: edg
        """)
    assert problem == (
        "t.yaml:4:11: nodes.a.role: expected one of 'sensor', 'modem', 'edge', 'cloud', 'router', "
        "got 'edg' (did you mean 'edge'?)"
    )


def test_bad_distribution_suggests_closest_choice():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            up: {delay: 10ms, jitter: 1ms, distribution: pareto-normal}
        """)
    assert problem.startswith("t.yaml:5:50: links[0].up.distribution: expected one of 'normal', 'pareto', ")
    assert problem.endswith("got 'pareto-normal' (did you mean 'paretonormal'?)")


def test_bad_enum_far_from_any_choice_has_no_suggestion():
    problem = only_problem("""\
        name: r
        nodes:
          a: {role: banana}
        """)
    assert problem.startswith("t.yaml:3:13: nodes.a.role: expected one of ")
    assert problem.endswith("got 'banana'")


def test_bool_is_not_an_enum_value():
    problem = only_problem("""\
        name: r
        nodes:
          a: {role: yes}
        """)
    assert problem.startswith("t.yaml:3:13: nodes.a.role: expected one of ")
    assert "got True" in problem


# --- references --------------------------------------------------------------------------------


def test_dangling_endpoint_node_suggests_closest_node():
    problem = only_problem("""\
        name: r
        nodes:
          sensor: {role: sensor}
          edge: {role: edge}
        links:
          - endpoints: [sensor, egde]
        """)
    assert problem == "t.yaml:6:25: links[0].endpoints[1]: no node named 'egde' (did you mean 'edge'?)"


def test_dangling_endpoint_with_interface_points_at_the_endpoint():
    problem = only_problem("""\
        name: r
        nodes:
          sensor: {role: sensor}
          edge: {role: edge}
        links:
          - endpoints:
              - cloud:eth0
              - edge
        """)
    assert problem == "t.yaml:7:9: links[0].endpoints[0]: no node named 'cloud'"


def test_dangling_via_suggests_closest_node():
    problem = only_problem("""\
        name: r
        nodes:
          ue: {role: sensor}
          modem: {role: modem}
          edge: {role: edge}
        links:
          - endpoints: [ue, edge]
            via: modme
        """)
    assert problem == "t.yaml:8:10: links[0].via: no node named 'modme' (did you mean 'modem'?)"


def test_via_naming_a_non_modem_node_is_refused():
    problem = only_problem("""\
        name: r
        nodes:
          ue: {role: sensor}
          gw: {role: router}
          edge: {role: edge}
        links:
          - endpoints: [ue, edge]
            via: gw
        """)
    assert problem == (
        "t.yaml:8:10: links[0].via: via names node 'gw', whose role is 'router'; a link goes via a node of role 'modem'"
    )


def test_via_naming_one_of_the_links_own_endpoints_is_refused():
    problem = only_problem("""\
        name: r
        nodes:
          ue: {role: sensor}
          modem: {role: modem}
        links:
          - endpoints: [ue, modem]
            via: modem
        """)
    assert problem.startswith("t.yaml:7:10: links[0].via: modem 'modem' is an endpoint of this link;")


def test_unknown_profile_suggests_closest_profile():
    problem = only_problem("""\
        name: r
        profiles:
          lte-good: {both: {delay: 20ms}}
          lte-bad: {both: {delay: 80ms}}
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            profile: lte-bda
        """)
    assert problem == "t.yaml:8:14: links[0].profile: no profile named 'lte-bda' (did you mean 'lte-bad'?)"


def test_unknown_extends_suggests_closest_profile():
    problem = only_problem("""\
        name: r
        profiles:
          base: {both: {delay: 20ms}}
          worse:
            extends: bsae
        nodes: {}
        """)
    assert problem == "t.yaml:5:14: profiles.worse.extends: no profile named 'bsae' (did you mean 'base'?)"


def test_profiles_extending_each_other_in_a_loop_are_refused_on_each_member():
    found = problems_of("""\
        name: r
        profiles:
          a:
            extends: b
          b:
            extends: a
        nodes: {}
        """)
    assert found == [
        "t.yaml:4:14: profiles.a.extends: profiles extend each other in a loop: a -> b -> a",
        "t.yaml:6:14: profiles.b.extends: profiles extend each other in a loop: b -> a -> b",
    ]


def test_profile_extending_itself_is_a_loop():
    problem = only_problem("""\
        name: r
        profiles:
          a: {extends: a}
        nodes: {}
        """)
    assert problem == "t.yaml:3:16: profiles.a.extends: profiles extend each other in a loop: a -> a"


def test_profile_leading_into_a_loop_is_reported_too():
    found = problems_of("""\
        name: r
        profiles:
          entry: {extends: a}
          a: {extends: b}
          b: {extends: a}
        nodes: {}
        """)
    assert found[0] == "t.yaml:3:20: profiles.entry.extends: profiles extend each other in a loop: entry -> a -> b -> a"
    assert len(found) == 3


# --- names -------------------------------------------------------------------------------------


def test_duplicate_node_names_are_a_duplicate_key_error():
    problem = only_problem("""\
        name: r
        nodes:
          edge: {role: edge}
          cloud: {role: cloud}
          edge: {role: router}
        """)
    assert problem == "t.yaml:5:3: duplicate key 'edge' (first given at line 3)"


def test_duplicate_explicit_link_names_are_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
            name: uplink
          - endpoints: [a, c]
            name: uplink
        """)
    assert problem == "t.yaml:7:11: links[1].name: link name 'uplink' is already used by links[0]"


def test_link_name_with_bad_characters_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            name: my link
        """)
    assert problem.startswith("t.yaml:5:11: links[0].name: link name 'my link' may hold only letters")


def test_duplicate_explicit_interface_names_on_one_node_are_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: ["a:eth0", b]
          - endpoints: [c, "a:eth0"]
        """)
    assert problem == "t.yaml:5:20: links[1].endpoints[1]: node 'a' already has an interface 'eth0' (links[0])"


def test_same_interface_name_on_different_nodes_is_fine():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: ["a:eth0", "b:eth0"]
        """)
    assert [str(e) for e in topo.links[0].endpoints] == ["a:eth0", "b:eth0"]


def test_node_name_longer_than_12_characters_is_refused_at_the_key():
    problem = only_problem("""\
        name: r
        nodes:
          a: {role: edge}
          edge-server-1: {role: edge}
        """)
    assert problem.startswith(
        "t.yaml:4:3: nodes.edge-server-1: node name 'edge-server-1' is 13 characters; at most 12"
    )
    assert "interface name" in problem


def test_node_name_of_exactly_12_characters_is_accepted():
    topo = load("""\
        name: r
        nodes:
          edge-server1: {role: edge}
        """)
    assert list(topo.nodes) == ["edge-server1"]


@pytest.mark.parametrize("name", ["Edge", "edge_1", "1edge", "-edge", "ed.ge"])
def test_node_name_with_bad_characters_is_refused_at_the_key(name):
    text = f"name: r\nnodes:\n  ok: {{role: edge}}\n  {name}: {{role: edge}}\n"
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(text, "t.yaml")
    assert info.value.problems == [
        f"t.yaml:4:3: nodes.{name}: node name {name!r} must start with a lowercase letter and hold only "
        "lowercase letters, digits and '-'"
    ]


RIG_CHARS = "lowercase letters, digits and '-'"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("'My Rig'", "rig name 'My Rig' must start with a lowercase letter and hold only " + RIG_CHARS),
        ("rig_1", "rig name 'rig_1' must start with a lowercase letter and hold only " + RIG_CHARS),
        ("a-rig-name-that-is-far-too-long", "rig name 'a-rig-name-that-is-far-too-long' is 31 characters; at most 24"),
    ],
)
def test_bad_rig_name_is_refused_at_the_value(name, words):
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(f"nodes: {{}}\nname: {name}\n", "t.yaml")
    assert info.value.problems == [f"t.yaml:2:7: name: {words}"]


def test_rig_name_of_24_characters_is_accepted():
    assert load("name: abcdefghijklmnopqrstuvwx\n").name == "abcdefghijklmnopqrstuvwx"


def test_interface_name_longer_than_15_characters_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints:
              - a:an-interface-016
              - b
        """)
    assert problem == (
        "t.yaml:5:9: links[0].endpoints[0]: interface name 'an-interface-016' is 16 characters; Linux allows 15"
    )


def test_interface_name_of_15_characters_is_accepted():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: ["a:interface-0015", b]
        """)
    assert topo.links[0].endpoints[0].interface == "interface-0015"


@pytest.mark.parametrize("ifname", ["lo", "all", "default"])
def test_reserved_interface_name_is_refused(ifname):
    text = f"name: r\nnodes: {{a: {{role: edge}}, b: {{role: cloud}}}}\nlinks:\n  - endpoints: [a, 'b:{ifname}']\n"
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(text, "t.yaml")
    assert info.value.problems == [
        f"t.yaml:4:20: links[0].endpoints[1]: interface name {ifname!r} is reserved by the kernel"
    ]


def test_interface_name_with_bad_characters_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: ["a:eth/0", b]
        """)
    assert problem.startswith("t.yaml:4:17: links[0].endpoints[0]: interface name 'eth/0' may hold only letters")


@pytest.mark.parametrize("node", ["lo", "all", "default"])
def test_node_name_that_would_derive_a_reserved_interface_name_is_refused(node):
    text = f"name: r\nnodes:\n  {node}: {{role: edge}}\n  x: {{role: cloud}}\nlinks:\n  - endpoints: [{node}, x]\n"
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(text, "t.yaml")
    assert info.value.problems == [f"t.yaml:3:3: nodes.{node}: node name {node!r} is reserved: it would become "
                                   "an interface name on the node's peers"]


# --- link shape --------------------------------------------------------------------------------


def test_link_with_both_ends_on_one_node_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}}
        links:
          - endpoints: ["a:x", "a:y"]
        """)
    assert problem == "t.yaml:4:16: links[0].endpoints: both ends are on node 'a'"


def test_endpoints_list_of_three_items_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: edge}, c: {role: edge}}
        links:
          - endpoints: [a, b, c]
        """)
    assert problem == "t.yaml:4:16: links[0].endpoints: expected a list of exactly 2 items, got 3"


def test_endpoints_list_of_one_item_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}}
        links:
          - endpoints:
              - a
        """)
    assert problem == "t.yaml:5:7: links[0].endpoints: expected a list of exactly 2 items, got 1"


@pytest.mark.parametrize(("mtu", "ok"), [(67, False), (68, True), (9000, True), (65535, True), (65536, False)])
def test_mtu_must_be_between_68_and_65535(mtu, ok):
    text = f"name: r\nnodes: {{a: {{role: edge}}, b: {{role: cloud}}}}\nlinks:\n  - endpoints: [a, b]\n    mtu: {mtu}\n"
    if ok:
        assert parse_topology(text, "t.yaml").links[0].mtu == mtu
    else:
        with pytest.raises(TopologyInvalid) as info:
            parse_topology(text, "t.yaml")
        assert info.value.problems == [f"t.yaml:5:10: links[0].mtu: mtu must be between 68 and 65535, got {mtu}"]


# --- addresses ---------------------------------------------------------------------------------


def test_overlapping_explicit_subnets_name_the_other_link():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
            name: backhaul
            addresses: [10.0.0.1/30, 10.0.0.2/30]
          - endpoints: [a, c]
            addresses: [10.0.0.1/29, 10.0.0.6/29]
        """)
    assert problem == (
        "t.yaml:8:16: links[1].addresses: subnet 10.0.0.0/29 overlaps 10.0.0.0/30 of links[0] (backhaul)"
    )


def test_overlapping_subnet_message_uses_the_derived_name_of_the_other_link():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.1/30, 10.0.0.2/30]
          - endpoints: [a, c]
            addresses: [10.0.0.2/30, 10.0.0.1/30]
        """)
    assert problem == "t.yaml:7:16: links[1].addresses: subnet 10.0.0.0/30 overlaps 10.0.0.0/30 of links[0] (a-b)"


def test_explicit_addresses_not_in_one_subnet_are_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.1/30, 10.0.0.5/30]
        """)
    assert problem == (
        "t.yaml:5:16: links[0].addresses: 10.0.0.1/30 and 10.0.0.5/30 are not in one subnet "
        "(10.0.0.0/30 vs 10.0.0.4/30)"
    )


def test_explicit_addresses_with_different_prefixes_are_not_in_one_subnet():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.1/24, 10.0.0.2/30]
        """)
    assert problem.startswith("t.yaml:5:16: links[0].addresses: 10.0.0.1/24 and 10.0.0.2/30 are not in one subnet")


def test_same_address_on_both_ends_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.1/30, 10.0.0.1/30]
        """)
    assert problem == "t.yaml:5:16: links[0].addresses: both ends have the address 10.0.0.1"


def test_network_address_as_an_end_is_refused_at_that_end():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.0/30, 10.0.0.1/30]
        """)
    assert problem == "t.yaml:5:17: links[0].addresses[0]: 10.0.0.0 is the network address of 10.0.0.0/30"


def test_broadcast_address_as_an_end_is_refused_at_that_end():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses:
              - 10.0.0.1/30
              - 10.0.0.3/30
        """)
    assert problem == "t.yaml:7:9: links[0].addresses[1]: 10.0.0.3 is the broadcast address of 10.0.0.0/30"


def test_slash_31_explicit_addresses_may_use_both_addresses():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.0/31, 10.0.0.1/31]
        """)
    assert [str(a) for a in topo.links[0].addresses] == ["10.0.0.0/31", "10.0.0.1/31"]


def test_explicit_address_without_prefix_length_is_refused():
    problem = only_problem("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.1, 10.0.0.2/30]
        """)
    assert problem.startswith("t.yaml:5:17: links[0].addresses[0]: expected an IPv4 address with prefix length")


def test_exhausted_pool_is_reported_at_the_pool():
    problem = only_problem("""\
        name: r
        addressing:
          pool: 10.0.0.0/29
          prefix: 30
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}, d: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, c]
          - endpoints: [a, d]
        """)
    assert problem == (
        "t.yaml:3:9: addressing.pool: pool 10.0.0.0/29 has too few free /30 subnets for the 3 links "
        "without addresses; give a larger pool"
    )


def test_pool_is_exhausted_by_explicitly_claimed_subnets_too():
    problem = only_problem("""\
        name: r
        addressing: {pool: 10.0.0.0/29}
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.5/30, 10.0.0.6/30]
          - endpoints: [a, c]
          - endpoints: [b, c]
        """)
    assert problem.startswith(
        "t.yaml:2:20: addressing.pool: pool 10.0.0.0/29 has too few free /30 subnets for the 2 links"
    )


def test_pool_smaller_than_one_link_subnet_is_exhausted():
    problem = only_problem("""\
        name: r
        addressing: {pool: 10.0.0.0/31, prefix: 30}
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
        """)
    assert "t.yaml:2:20: addressing.pool: pool 10.0.0.0/31 has too few free /30 subnets" in problem


@pytest.mark.parametrize("prefix", [24, 29, 32])
def test_addressing_prefix_other_than_30_or_31_is_refused(prefix):
    text = f"name: r\naddressing:\n  prefix: {prefix}\nnodes: {{}}\n"
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(text, "t.yaml")
    assert info.value.problems == [f"t.yaml:3:11: addressing.prefix: link subnets are /30 or /31, got /{prefix}"]


def test_addressing_pool_with_host_bits_is_refused():
    problem = only_problem("""\
        name: r
        addressing:
          pool: 10.0.0.1/16
        nodes: {}
        """)
    assert problem.startswith("t.yaml:3:9: addressing.pool: '10.0.0.1/16' is not an IPv4 network prefix")


# --- impairment rules --------------------------------------------------------------------------

LINK_HEAD = """\
name: r
nodes: {a: {role: edge}, b: {role: cloud}}
links:
  - endpoints: [a, b]
"""


@pytest.mark.parametrize(
    ("block", "field", "at", "message"),
    [
        ("{jitter: 2ms}", "jitter", "2ms", "jitter needs delay"),
        ("{delay: 5ms, jitter: 0us}", "jitter", "0us", "a jitter of 0 is no jitter: leave jitter out"),
        ("{delay: 0ms, jitter: 2ms}", "jitter", "2ms",
         "jitter needs a delay above 0: netem varies each packet's delay around it"),
        ("{delay: 5ms, distribution: normal}", "distribution", "normal", "distribution needs jitter"),
        ("{delay: 5ms, delay-correlation: 25%}", "delay-correlation", "25%",
         "delay-correlation needs jitter"),
        ("{reorder: 25%}", "reorder", "25%", "reorder needs delay"),
        ("{delay: 5ms, reorder-gap: 5}", "reorder-gap", "5}", "reorder-gap needs reorder"),
        ("{loss-correlation: 25%}", "loss-correlation", "25%", "loss-correlation needs loss"),
        ("{duplicate-correlation: 5}", "duplicate-correlation", "5}",
         "duplicate-correlation needs duplicate"),
        ("{corrupt-correlation: 5}", "corrupt-correlation", "5}",
         "corrupt-correlation needs corrupt"),
        ("{packet-overhead: 14}", "packet-overhead", "14", "packet-overhead needs rate"),
        ("{ecn: true}", "ecn", "true", "ecn marks instead of dropping, so it needs loss or gemodel"),
        ("{loss: 1%, gemodel: {p: 1%}}", "gemodel", "{p:", "give either loss or gemodel, not both"),
        ("{delay: 5ms, reorder: 5%, reorder-gap: 0}", "reorder-gap", "0}", "reorder-gap must be 1 or more, got 0"),
        ("{limit: 0}", "limit", "0}", "limit must be 1 packet or more, got 0"),
        ("{slot: {min: 10ms, max: 5ms}}", "slot.max", "5ms}", "slot max 5ms is below min 10ms"),
    ],
)
def test_impairment_rule_is_reported_at_the_offending_value(block, field, at, message):
    line = f"    up: {block}\n"
    column = line.index(at) + 1  # where the offending value starts on line 5
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(LINK_HEAD + line, "t.yaml")
    assert info.value.problems == [f"t.yaml:5:{column}: links[0].up.{field}: {message}"]


@pytest.mark.parametrize(
    "block",
    [
        "{delay: 10ms, jitter: 2ms, distribution: normal, delay-correlation: 25%}",
        "{delay: 10ms, reorder: 25%, reorder-correlation: 50%, reorder-gap: 5}",
        "{loss: 1%, loss-correlation: 25%, ecn: true}",
        "{gemodel: {p: 1%, r: 10%, bad-loss: 100%, good-loss: 0}, ecn: true}",
        "{rate: 10mbit, packet-overhead: -4, limit: 1000}",
        "{duplicate: 1%, duplicate-correlation: 5%, corrupt: 0.1%, corrupt-correlation: 5%}",
        "{slot: {min: 1ms, max: 5ms, packets: 10, bytes: 1500}}",
        "{ecn: false}",
    ],
)
def test_consistent_impairment_is_accepted(block):
    topo = parse_topology(LINK_HEAD + f"    up: {block}\n", "t.yaml")
    assert not topo.links[0].up.is_empty()


def test_impairment_rules_apply_in_profiles_too():
    problem = only_problem("""\
        name: r
        profiles:
          lossy:
            down:
              jitter: 5ms
        nodes: {}
        """)
    assert problem == "t.yaml:5:15: profiles.lossy.down.jitter: jitter needs delay"


def test_impairment_rules_apply_to_link_both_block():
    problem = only_problem(LINK_HEAD + "    both: {ecn: true}\n")
    assert problem == "t.yaml:5:17: links[0].both.ecn: ecn marks instead of dropping, so it needs loss or gemodel"


def test_loss_and_gemodel_from_different_layers_are_refused():
    with pytest.raises(TopologyInvalid) as info:
        parse_topology(y("""\
            name: r
            profiles:
              lossy: {both: {loss: 1%}}
            nodes: {a: {role: edge}, b: {role: cloud}}
            links:
              - endpoints: [a, b]
                profile: lossy
                up: {gemodel: {p: 1%}}
            """), "t.yaml")
    assert any("loss" in p and "gemodel" in p for p in info.value.problems)


# --- several problems --------------------------------------------------------------------------


def test_all_conversion_problems_are_reported_sorted_by_line():
    found = problems_of("""\
        name: r
        links:
          - endpoints: [a, b]
            mtu: big
        nodes:
          a: {role: edg}
          b: {rol: cloud}
        addressing:
          prefx: 30
        """)
    assert found == [
        "t.yaml:4:10: links[0].mtu: expected an integer, got the string 'big'",
        "t.yaml:6:13: nodes.a.role: expected one of 'sensor', 'modem', 'edge', 'cloud', 'router', got 'edg' "
        "(did you mean 'edge'?)",
        "t.yaml:7:7: nodes.b.rol: unknown field 'rol' (did you mean 'role'?)",
        "t.yaml:9:3: addressing.prefx: unknown field 'prefx' (did you mean 'prefix'?)",
    ]


def test_all_cross_field_problems_are_reported_sorted_by_line_and_column():
    found = problems_of("""\
        name: r
        profiles:
          p: {both: {jitter: 1ms}}
        nodes:
          ue: {role: sensor}
          gw: {role: router}
          Edge: {role: edge}
        links:
          - endpoints: [ue, cloud]
            via: gw
          - {endpoints: [ue, ue], profile: pp, name: x}
          - {endpoints: [ue, gw], name: x}
        addressing: {prefix: 28}
        """)
    assert found == [
        "t.yaml:3:22: profiles.p.both.jitter: jitter needs delay",
        "t.yaml:7:3: nodes.Edge: node name 'Edge' must start with a lowercase letter and hold only lowercase "
        "letters, digits and '-'",
        "t.yaml:9:21: links[0].endpoints[1]: no node named 'cloud'",
        "t.yaml:10:10: links[0].via: via names node 'gw', whose role is 'router'; "
        "a link goes via a node of role 'modem'",
        "t.yaml:11:17: links[1].endpoints: both ends are on node 'ue'",
        "t.yaml:11:36: links[1].profile: no profile named 'pp' (did you mean 'p'?)",
        "t.yaml:12:33: links[2].name: link name 'x' is already used by links[1]",
        "t.yaml:13:22: addressing.prefix: link subnets are /30 or /31, got /28",
    ]


def test_all_address_problems_are_reported_together():
    found = problems_of("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
            addresses: [10.0.0.0/30, 10.0.0.1/30]
          - endpoints: [b, c]
            addresses: [10.0.0.1/30, 10.0.0.2/30]
          - endpoints: ["a:x", "c:y"]
          - endpoints: ["a:x", c]
        """)
    assert found == [
        "t.yaml:5:17: links[0].addresses[0]: 10.0.0.0 is the network address of 10.0.0.0/30",
        "t.yaml:7:16: links[1].addresses: subnet 10.0.0.0/30 overlaps 10.0.0.0/30 of links[0] (a-b)",
        "t.yaml:9:17: links[3].endpoints[0]: node 'a' already has an interface 'x' (links[2])",
    ]


def test_type_problem_does_not_hide_a_dangling_reference_elsewhere():
    found = problems_of("""\
        name: r
        nodes:
          a: {role: edg}
          b: {role: cloud}
        links:
          - endpoints: [b, c]
        """)
    assert len(found) == 2


# --- happy path: resolution --------------------------------------------------------------------


def test_minimal_topology_has_defaults():
    topo = load("name: r\n")
    assert topo.nodes == {} and topo.links == [] and topo.profiles == {}
    assert topo.addressing.pool == ipaddress.IPv4Network("10.100.0.0/16")
    assert topo.addressing.prefix == 30
    assert topo.source == "t.yaml"


def test_node_and_profile_names_come_from_their_keys():
    topo = load("""\
        name: r
        profiles:
          lte: {description: radio}
        nodes:
          ue: {role: sensor, labels: {site: lab}}
        """)
    assert topo.nodes["ue"].name == "ue"
    assert topo.nodes["ue"].role == "sensor"
    assert topo.nodes["ue"].labels == {"site": "lab"}
    assert topo.profiles["lte"].name == "lte"


def test_parallel_links_get_names_a_b_and_a_b_2():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, b]
          - endpoints: [b, a]
        """)
    assert [link.name for link in topo.links] == ["a-b", "a-b-2", "b-a"]


def test_derived_link_names_step_around_explicit_ones():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, b]
            name: a-b
        """)
    assert [link.name for link in topo.links] == ["a-b-2", "a-b"]


def test_derived_interface_names_are_the_peer_node_name():
    topo = load("""\
        name: r
        nodes: {ue: {role: sensor}, edge: {role: edge}, cloud: {role: cloud}}
        links:
          - endpoints: [ue, edge]
          - endpoints: [edge, cloud]
        """)
    assert [str(e) for e in topo.links[0].endpoints] == ["ue:edge", "edge:ue"]
    assert [str(e) for e in topo.links[1].endpoints] == ["edge:cloud", "cloud:edge"]


def test_parallel_link_interfaces_are_named_peer_2():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, b]
          - endpoints: [a, b]
        """)
    assert [(e0.interface, e1.interface) for e0, e1 in (link.endpoints for link in topo.links)] == [
        ("b", "a"),
        ("b-2", "a-2"),
        ("b-3", "a-3"),
    ]


def test_explicit_interface_names_are_kept_and_derived_ones_step_around_them():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: ["a:b", "b:eth1"]
          - endpoints: [a, "b:a-2"]
        """)
    ends = [[e.interface for e in link.endpoints] for link in topo.links]
    # 'a' already names 'b' explicitly (links[1]) so links[0] gets 'b-2'; 'b' has an explicit 'a-2' (links[2])
    assert ends == [["b-2", "a"], ["b", "eth1"], ["b-3", "a-2"]]


def test_endpoint_strings_are_parsed_into_node_and_interface():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: ["a:wan0", b]
        """)
    assert topo.links[0].endpoints[0] == Endpoint("a", "wan0")
    assert topo.links[0].nodes == ("a", "b")
    assert topo.links[0].peer_of("a") == "b" and topo.links[0].peer_of("b") == "a"


def test_auto_addresses_are_consecutive_slash_30s_from_the_pool():
    topo = load("""\
        name: r
        addressing: {pool: 10.20.0.0/24}
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [b, c]
          - endpoints: [a, c]
        """)
    assert [[str(a) for a in link.addresses] for link in topo.links] == [
        ["10.20.0.1/30", "10.20.0.2/30"],
        ["10.20.0.5/30", "10.20.0.6/30"],
        ["10.20.0.9/30", "10.20.0.10/30"],
    ]


def test_auto_addresses_come_from_the_default_pool():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
        """)
    assert [str(a) for a in topo.links[0].addresses] == ["10.100.0.1/30", "10.100.0.2/30"]


def test_auto_addresses_skip_explicitly_claimed_subnets():
    topo = load("""\
        name: r
        addressing: {pool: 10.20.0.0/24}
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [b, c]
            addresses: [10.20.0.5/30, 10.20.0.6/30]
          - endpoints: [a, c]
            addresses: [10.20.0.9/29, 10.20.0.10/29]
          - endpoints: [a, c]
        """)
    assert [[str(a) for a in link.addresses] for link in topo.links] == [
        ["10.20.0.1/30", "10.20.0.2/30"],
        ["10.20.0.5/30", "10.20.0.6/30"],
        ["10.20.0.9/29", "10.20.0.10/29"],
        ["10.20.0.17/30", "10.20.0.18/30"],
    ]


def test_slash_31_prefix_gives_both_addresses_of_each_subnet():
    topo = load("""\
        name: r
        addressing: {pool: 10.20.0.0/24, prefix: 31}
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [b, c]
        """)
    assert [[str(a) for a in link.addresses] for link in topo.links] == [
        ["10.20.0.0/31", "10.20.0.1/31"],
        ["10.20.0.2/31", "10.20.0.3/31"],
    ]


def test_pool_exactly_big_enough_is_accepted():
    topo = load("""\
        name: r
        addressing: {pool: 10.0.0.0/29}
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, c]
        """)
    assert [str(link.addresses[1]) for link in topo.links] == ["10.0.0.2/30", "10.0.0.6/30"]


def test_resolution_is_deterministic():
    text = """\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}, c: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, b]
          - endpoints: [c, a]
        """
    assert load(text) == load(text)


# --- happy path: impairments and forwarding ----------------------------------------------------

IMPAIRMENT_TEXT = """\
    name: r
    profiles:
      base:
        both: {delay: 10ms, loss: 1%, rate: 100mbit, limit: 100}
        up: {delay: 20ms}
      lte:
        extends: base
        both: {delay: 30ms, duplicate: 1%, limit: 200}
        up: {loss: 2%}
        down: {rate: 50mbit}
    nodes: {a: {role: sensor}, b: {role: edge}}
    links:
      - endpoints: [a, b]
        profile: lte
        both: {corrupt: 0.1%, limit: 300}
        up: {limit: 400}
      - endpoints: [a, b]
    """


def test_impairment_merges_profile_chain_then_link_overrides_later_winning_up():
    topo = load(IMPAIRMENT_TEXT)
    up = topo.impairment(topo.links[0], "up")
    assert up == Impairment(
        delay=Duration.parse("30ms"),  # lte.both beats base.up: the child profile comes later
        loss=Percent.parse("2%"),  # lte.up beats lte.both/base.both
        rate=Rate.parse("100mbit"),  # from base.both
        duplicate=Percent.parse("1%"),  # lte.both
        corrupt=Percent.parse("0.1%"),  # link.both
        limit=400,  # link.up beats link.both beats lte.both beats base.both
    )


def test_impairment_merges_profile_chain_then_link_overrides_later_winning_down():
    topo = load(IMPAIRMENT_TEXT)
    down = topo.impairment(topo.links[0], "down")
    assert down == Impairment(
        delay=Duration.parse("30ms"),
        loss=Percent.parse("1%"),
        rate=Rate.parse("50mbit"),
        duplicate=Percent.parse("1%"),
        corrupt=Percent.parse("0.1%"),
        limit=300,
    )


def test_impairment_of_a_plain_link_is_empty():
    topo = load(IMPAIRMENT_TEXT)
    assert topo.impairment(topo.links[1], "up").is_empty()
    assert topo.impairment(topo.links[1], "down") == Impairment()


def test_impairment_as_dict_writes_yaml_spelling_with_units():
    topo = load(IMPAIRMENT_TEXT)
    assert topo.impairment(topo.links[0], "down").as_dict() == {
        "delay": "30ms",
        "loss": "1%",
        "duplicate": "1%",
        "corrupt": "0.1%",
        "rate": "50mbit",
        "limit": 300,
    }


def test_profile_direction_overrides_profile_both():
    topo = load("""\
        name: r
        profiles:
          p: {both: {delay: 10ms}, down: {delay: 50ms}}
        nodes: {a: {role: sensor}, b: {role: edge}}
        links:
          - endpoints: [a, b]
            profile: p
        """)
    assert topo.impairment(topo.links[0], "up").delay == Duration(10_000)
    assert topo.impairment(topo.links[0], "down").delay == Duration(50_000)


def test_link_both_overrides_profile_direction():
    topo = load("""\
        name: r
        profiles:
          p: {up: {delay: 50ms}}
        nodes: {a: {role: sensor}, b: {role: edge}}
        links:
          - endpoints: [a, b]
            profile: p
            both: {delay: 5ms}
        """)
    assert topo.impairment(topo.links[0], "up").delay == Duration(5_000)


def test_forwarding_defaults_on_for_nodes_with_two_or_more_links():
    topo = load("""\
        name: r
        nodes:
          ue: {role: sensor}
          gw: {role: router}
          edge: {role: edge}
          lonely: {role: cloud}
          pair: {role: cloud}
        links:
          - endpoints: [ue, gw]
          - endpoints: [gw, edge]
          - endpoints: [edge, pair]
          - endpoints: [edge, pair]
        """)
    assert topo.forwards("gw") is True
    assert topo.forwards("edge") is True
    assert topo.forwards("pair") is True  # two parallel links count as two
    assert topo.forwards("ue") is False
    assert topo.forwards("lonely") is False


def test_explicit_forwarding_wins_over_the_default():
    topo = load("""\
        name: r
        nodes:
          ue: {role: sensor, forwarding: true}
          gw: {role: router, forwarding: false}
          edge: {role: edge}
        links:
          - endpoints: [ue, gw]
          - endpoints: [gw, edge]
        """)
    assert topo.forwards("gw") is False
    assert topo.forwards("ue") is True


def test_link_lookup_by_resolved_name():
    topo = load("""\
        name: r
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, b]
            name: backup
        """)
    assert topo.link("backup") is topo.links[1]
    assert topo.link("a-b") is topo.links[0]
    assert topo.links_of("a") == topo.links
    with pytest.raises(KeyError):
        topo.link("nope")


def test_merge_keys_work_in_topology_files():
    topo = load("""\
        name: r
        nodes:
          a: &node {role: edge, labels: {site: lab}}
          b:
            <<: *node
            role: cloud
        """)
    assert topo.nodes["b"].role == "cloud"
    assert topo.nodes["b"].labels == {"site": "lab"}
