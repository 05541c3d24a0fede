"""Static routes: default routes for stubs, shortest paths, forwarding: false, ties, islands."""

from __future__ import annotations

import ipaddress
import textwrap

from testbed.topology import parse_topology
from testbed.topology.routing import DEFAULT, Route, compute_routes


def routes_of(text: str) -> dict[str, list[str]]:
    topo = parse_topology(textwrap.dedent(text), "t.yaml")
    return {node: [str(r) for r in table] for node, table in compute_routes(topo).items()}


def test_stub_node_gets_exactly_one_default_route_via_its_peer():
    topo = parse_topology(textwrap.dedent("""\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes: {ue: {role: sensor}, edge: {role: edge}}
        links:
          - endpoints: [ue, edge]
        """), "t.yaml")
    routes = compute_routes(topo)
    assert routes["ue"] == [Route(DEFAULT, ipaddress.IPv4Address("10.0.0.2"), "edge")]
    assert routes["edge"] == [Route(DEFAULT, ipaddress.IPv4Address("10.0.0.1"), "ue")]
    assert str(routes["ue"][0]) == "default via 10.0.0.2 dev edge"


def test_stub_default_route_uses_explicit_interface_and_address():
    routes = routes_of("""\
        name: r
        nodes: {ue: {role: sensor}, edge: {role: edge}}
        links:
          - endpoints: ["ue:wwan0", "edge:eth3"]
            addresses: [192.168.7.9/30, 192.168.7.10/30]
        """)
    assert routes["ue"] == ["default via 192.168.7.10 dev wwan0"]
    assert routes["edge"] == ["default via 192.168.7.9 dev eth3"]


CHAIN = textwrap.dedent("""\
    name: r
    addressing: {pool: 10.0.0.0/24}
    nodes:
      a: {role: sensor}
      b: {role: router}
      c: {role: router}
      d: {role: cloud}
    links:
      - endpoints: [a, b]
      - endpoints: [b, c]
      - endpoints: [c, d]
    """)


def test_chain_inner_node_routes_to_the_far_subnet_via_its_neighbour():
    routes = routes_of(CHAIN)
    # subnets: a-b 10.0.0.0/30, b-c 10.0.0.4/30 (b .5, c .6), c-d 10.0.0.8/30
    assert routes["b"] == ["10.0.0.8/30 via 10.0.0.6 dev c"]
    assert routes["c"] == ["10.0.0.0/30 via 10.0.0.5 dev b"]


def test_chain_ends_get_only_default_routes():
    routes = routes_of(CHAIN)
    assert routes["a"] == ["default via 10.0.0.2 dev b"]
    assert routes["d"] == ["default via 10.0.0.9 dev c"]


def test_every_node_gets_a_table_and_nodes_without_links_get_none():
    routes = routes_of(CHAIN.replace("  d: {role: cloud}\n", "  d: {role: cloud}\n  idle: {role: cloud}\n"))
    assert set(routes) == {"a", "b", "c", "d", "idle"}
    assert routes["idle"] == []


def test_multi_hop_route_uses_the_first_hop_of_the_shortest_path():
    routes = routes_of("""\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes:
          a: {role: sensor}
          b: {role: router}
          c: {role: router}
          d: {role: router}
          e: {role: cloud}
        links:
          - endpoints: [a, b]
          - endpoints: [b, c]
          - endpoints: [c, d]
          - endpoints: [d, e]
        """)
    # b reaches c-d (10.0.0.8/30) and d-e (10.0.0.12/30) through c (10.0.0.6 on b-c)
    assert routes["b"] == ["10.0.0.8/30 via 10.0.0.6 dev c", "10.0.0.12/30 via 10.0.0.6 dev c"]
    assert routes["d"] == ["10.0.0.0/30 via 10.0.0.9 dev c", "10.0.0.4/30 via 10.0.0.9 dev c"]


def test_shortest_path_wins_over_a_longer_one_listed_first():
    routes = routes_of("""\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes:
          s: {role: router}
          x: {role: router}
          y: {role: router}
          t: {role: router}
          u: {role: cloud}
        links:
          - endpoints: [s, x]
          - endpoints: [x, y]
          - endpoints: [y, t]
          - endpoints: [s, t]
          - endpoints: [t, u]
        """)
    # s-x .0/30, x-y .4/30, y-t .8/30, s-t .12/30 (s .13, t .14), t-u .16/30
    assert "10.0.0.16/30 via 10.0.0.14 dev t" in routes["s"]
    assert not any(r.startswith("10.0.0.16/30 via 10.0.0.2") for r in routes["s"])


def test_routes_never_transit_a_node_with_forwarding_false():
    text = """\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes:
          a: {role: sensor}
          b: {role: router}
          c: {role: router, forwarding: FORWARDING}
          d: {role: router}
          e: {role: cloud}
        links:
          - endpoints: [a, b]
          - endpoints: [b, c]
          - endpoints: [c, d]
          - endpoints: [d, e]
        """
    open_routes = routes_of(text.replace("FORWARDING", "true"))
    cut_routes = routes_of(text.replace("FORWARDING", "false"))
    # d-e is 10.0.0.12/30, a-b is 10.0.0.0/30: reachable only through c
    assert "10.0.0.12/30 via 10.0.0.6 dev c" in open_routes["b"]
    assert "10.0.0.0/30 via 10.0.0.9 dev c" in open_routes["d"]
    assert not any(r.startswith("10.0.0.12/30") for r in cut_routes["b"])
    assert not any(r.startswith("10.0.0.0/30") for r in cut_routes["d"])


def test_non_forwarding_node_still_routes_its_own_traffic():
    routes = routes_of("""\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes:
          a: {role: sensor}
          b: {role: router, forwarding: false}
          c: {role: router}
          d: {role: cloud}
        links:
          - endpoints: [a, b]
          - endpoints: [b, c]
          - endpoints: [c, d]
        """)
    assert routes["b"] == ["10.0.0.8/30 via 10.0.0.6 dev c"]


def test_ties_are_broken_by_file_order():
    text = """\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes:
          s: {role: router}
          x: {role: router}
          y: {role: router}
          t: {role: router}
          u: {role: cloud}
        links:
          - FIRST
          - SECOND
          - endpoints: [x, t]
          - endpoints: [y, t]
          - endpoints: [t, u]
        """
    via_x = routes_of(text.replace("FIRST", "endpoints: [s, x]").replace("SECOND", "endpoints: [s, y]"))
    via_y = routes_of(text.replace("FIRST", "endpoints: [s, y]").replace("SECOND", "endpoints: [s, x]"))
    # first link's subnet is 10.0.0.0/30 (s .1, peer .2), second is 10.0.0.4/30 (s .5, peer .6); t-u is 10.0.0.16/30
    assert "10.0.0.16/30 via 10.0.0.2 dev x" in via_x["s"]
    assert "10.0.0.16/30 via 10.0.0.2 dev y" in via_y["s"]


def test_routes_are_deterministic_and_in_file_order_of_links():
    text = """\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes:
          s: {role: router}
          x: {role: router}
          y: {role: router}
          t: {role: router}
          u: {role: cloud}
        links:
          - endpoints: [s, x]
          - endpoints: [s, y]
          - endpoints: [x, t]
          - endpoints: [y, t]
          - endpoints: [t, u]
        """
    first = routes_of(text)
    assert all(routes_of(text) == first for _ in range(3))
    assert first["s"] == [
        "10.0.0.8/30 via 10.0.0.2 dev x",
        "10.0.0.12/30 via 10.0.0.6 dev y",
        "10.0.0.16/30 via 10.0.0.2 dev x",
    ]


def test_disconnected_components_have_no_routes_to_each_other():
    routes = routes_of("""\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes:
          a: {role: sensor}
          b: {role: router}
          c: {role: router}
          d: {role: cloud}
          e: {role: sensor}
          f: {role: router}
          g: {role: router}
          h: {role: cloud}
        links:
          - endpoints: [a, b]
          - endpoints: [b, c]
          - endpoints: [c, d]
          - endpoints: [e, f]
          - endpoints: [f, g]
          - endpoints: [g, h]
        """)
    # left island: 10.0.0.0/30 .. 10.0.0.8/30; right island: 10.0.0.12/30 .. 10.0.0.20/30
    assert routes["b"] == ["10.0.0.8/30 via 10.0.0.6 dev c"]
    assert routes["c"] == ["10.0.0.0/30 via 10.0.0.5 dev b"]
    assert routes["f"] == ["10.0.0.20/30 via 10.0.0.18 dev g"]
    assert routes["g"] == ["10.0.0.12/30 via 10.0.0.17 dev f"]


def test_parallel_links_make_a_node_non_stub_with_no_extra_routes():
    routes = routes_of("""\
        name: r
        addressing: {pool: 10.0.0.0/24}
        nodes: {a: {role: edge}, b: {role: cloud}}
        links:
          - endpoints: [a, b]
          - endpoints: [a, b]
        """)
    assert routes == {"a": [], "b": []}


def test_routes_sort_and_compare_as_values():
    r1 = Route(ipaddress.IPv4Network("10.0.0.0/30"), ipaddress.IPv4Address("10.0.0.6"), "c")
    r2 = Route(ipaddress.IPv4Network("10.0.0.8/30"), ipaddress.IPv4Address("10.0.0.6"), "c")
    assert sorted([r2, r1]) == [r1, r2]
    assert r1 == Route(ipaddress.IPv4Network("10.0.0.0/30"), ipaddress.IPv4Address("10.0.0.6"), "c")
